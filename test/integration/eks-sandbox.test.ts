/**
 * The EKS sandbox end to end: the real ASL, the real handlers, the real EKS SDK client speaking
 * REST-JSON to LocalEks on 127.0.0.1, the real approval gate and lock over dynalite.
 */
import { EKSClient, DescribeClusterCommand, UpdateClusterVersionCommand } from '@aws-sdk/client-eks';
import { eksApi } from '../../functions/shared/adapters/aws/eks-api';
import { TransientError } from '../../functions/shared/errors';
import { EksSandbox, SANDBOX_APPROVER } from '../../sandbox/eks-sandbox';
import { sandboxEksState, startLocalEks } from '../../sandbox/local-eks';

jest.setTimeout(120_000);

const FAST = { updateMs: 150, checkPauseMs: 40 };

describe('the EKS sandbox', () => {
  it('runs eks-upgrade end to end: approval, control plane, each add-on, each node group, in that order', async () => {
    const sandbox = await EksSandbox.start(FAST);
    try {
      const result = await sandbox.run('eks-upgrade');

      expect(result.status).toBe('SUCCEEDED');
      expect(sandbox.versions()).toEqual({
        cluster: '1.32',
        addons: {
          'vpc-cni': 'v1.19.2-eksbuild.1',
          coredns: 'v1.11.4-eksbuild.2',
          'kube-proxy': 'v1.32.0-eksbuild.2',
          'aws-ebs-csi-driver': 'v1.38.1-eksbuild.1',
        },
        nodegroups: { 'general-a': '1.32 (1.32.0-20250103)', 'general-b': '1.32 (1.32.0-20250103)' },
      });
      expect(sandbox.eks.changes().map((c) => c.operation)).toEqual([
        'UpdateClusterVersion',
        ...Array<string>(4).fill('UpdateAddon'),
        'UpdateNodegroupVersion',
        'UpdateNodegroupVersion',
      ]);
      // the exact invocations: PRESERVE keeps the user's add-on configuration; no force
      for (const c of sandbox.eks.changes().filter((x) => x.operation === 'UpdateAddon')) {
        expect(c.body).toMatchObject({
          resolveConflicts: 'PRESERVE',
          clientRequestToken: expect.any(String),
        });
      }
      for (const c of sandbox.eks.changes().filter((x) => x.operation === 'UpdateNodegroupVersion')) {
        expect(c.body).toMatchObject({ version: '1.32', force: false });
      }
      // one update at a time: between two updates, the first one was seen ending (DescribeUpdate)
      const ops = sandbox.eks.requests
        .map((r) => r.operation)
        .filter((op) => op.startsWith('Update') || op === 'DescribeUpdate');
      for (const [i, op] of ops.entries()) {
        if (op.startsWith('Update') && i > 0) expect(ops[i - 1]).toBe('DescribeUpdate');
      }
      expect(sandbox.decisions).toEqual([
        expect.objectContaining({ decision: 'approved', by: SANDBOX_APPROVER }),
      ]);
      const outcome = sandbox.notifier.messages.at(-1)!;
      expect(outcome.attributes.outcome).toBe('Succeeded');
      expect(outcome.message).toMatch(/- node group general-b 1\.32: update [0-9a-f-]{36} Successful/);
    } finally {
      await sandbox.stop();
    }
  });

  it('stops at a PodEvictionFailure told to LocalEks, naming the pod, with the lock released', async () => {
    const sandbox = await EksSandbox.start({
      ...FAST,
      failures: [
        {
          resource: 'nodegroup/general-a',
          errors: [
            {
              errorCode: 'PodEvictionFailure',
              errorMessage:
                'Reached max retries while trying to evict pods from nodes in node group general-a',
              resourceIds: ['payments/api-7d9f8c6b5-x2x4q'],
            },
          ],
        },
      ],
    });
    try {
      const result = await sandbox.run('eks-upgrade', { version: '1.32' });

      expect(result.status).toBe('FAILED');
      expect(result.error?.Cause).toContain('Pods that could not be evicted: payments/api-7d9f8c6b5-x2x4q');
      expect(sandbox.versions().nodegroups['general-a']).toBe('1.31 (1.31.2-20241121)');
      expect(
        sandbox.eks
          .changes()
          .map((c) => c.operation)
          .at(-1),
      ).toBe('UpdateNodegroupVersion');
      expect(sandbox.eks.changes().filter((c) => c.operation === 'UpdateNodegroupVersion')).toHaveLength(1);
      // a second campaign finds the lock free and the control plane done: it starts at the add-ons
      const again = await sandbox.run('eks-upgrade', { version: '1.32', dryRun: true });
      expect(again.status).toBe('SUCCEEDED');
    } finally {
      await sandbox.stop();
    }
  });

  it('changes nothing when the approver denies', async () => {
    const sandbox = await EksSandbox.start({ ...FAST, approval: 'deny' });
    try {
      const result = await sandbox.run('eks-upgrade');

      expect(result.status).toBe('FAILED');
      expect(result.error?.Error).toBe('ApprovalDeniedError');
      expect(sandbox.eks.changes()).toEqual([]);
      expect(sandbox.versions().cluster).toBe('1.31');
    } finally {
      await sandbox.stop();
    }
  });

  it('runs eks-patch-nodegroups: only the group behind the newest AMI release moves', async () => {
    const sandbox = await EksSandbox.start(FAST);
    try {
      const result = await sandbox.run('eks-patch-nodegroups');

      expect(result.status).toBe('SUCCEEDED');
      expect(sandbox.eks.changes().map((c) => [c.path, c.body['releaseVersion']])).toEqual([
        ['/clusters/sandbox-eks/node-groups/general-a/update-version', '1.31.3-20250103'],
      ]);
      expect(sandbox.versions().nodegroups).toEqual({
        'general-a': '1.31 (1.31.3-20250103)',
        'general-b': '1.31 (1.31.3-20250103)',
      });
    } finally {
      await sandbox.stop();
    }
  });
});

describe('LocalEks and the real EKS client', () => {
  it('answers throttling as EKS does; the adapter turns what outlasts the SDK retries into TransientError', async () => {
    const eks = await startLocalEks(sandboxEksState('prod-eks'), { updateMs: 50 });
    const client = new EKSClient({
      endpoint: eks.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
      maxAttempts: 2,
    });
    try {
      eks.throttle(1);
      // one throttle: the SDK's own retry gets through
      await expect(client.send(new DescribeClusterCommand({ name: 'prod-eks' }))).resolves.toMatchObject({
        cluster: { version: '1.31' },
      });
      eks.throttle(5);
      await expect(
        eksApi(client).describeUpdate('prod-eks', 'x', { kind: 'cluster', version: '1.32' }),
      ).rejects.toBeInstanceOf(TransientError);
    } finally {
      client.destroy();
      await eks.stop();
    }
  });

  it('refuses a skipped minor and a second update of the same resource, as EKS does', async () => {
    const eks = await startLocalEks(sandboxEksState('prod-eks'), { updateMs: 5000 });
    const client = new EKSClient({
      endpoint: eks.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'test', secretAccessKey: 'test' },
    });
    try {
      await expect(
        client.send(new UpdateClusterVersionCommand({ name: 'prod-eks', version: '1.33' })),
      ).rejects.toMatchObject({
        name: 'InvalidParameterException',
      });
      const first = await client.send(
        new UpdateClusterVersionCommand({ name: 'prod-eks', version: '1.32', clientRequestToken: 't' }),
      );
      // the same token is the same update (a retried Lambda); another one is refused while it runs
      const same = await client.send(
        new UpdateClusterVersionCommand({ name: 'prod-eks', version: '1.32', clientRequestToken: 't' }),
      );
      expect(same.update?.id).toBe(first.update?.id);
      await expect(
        client.send(
          new UpdateClusterVersionCommand({ name: 'prod-eks', version: '1.32', clientRequestToken: 'other' }),
        ),
      ).rejects.toMatchObject({ name: 'ResourceInUseException' });
    } finally {
      client.destroy();
      await eks.stop();
    }
  });
});
