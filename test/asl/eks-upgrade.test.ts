import { checkUpdate } from '../../functions/eks-check-update/service';
import { runPreflight, type PreflightInput } from '../../functions/eks-preflight/service';
import { startUpdate, type StartUpdateInput } from '../../functions/eks-start-update/service';
import type { CheckUpdateInput } from '../../functions/eks-check-update/service';
import { EKS_CHECK_SECONDS } from '../../functions/shared/domain/eks';
import { ApprovalDeniedError } from '../../functions/shared/errors';
import { readWorkflow, runWorkflow, type Fake, type Json } from '../../sandbox/asl-runner';
import { configDirectory } from '../../sandbox/local-adapters';
import { eksTestClusters, FakeEks } from '../support/fake-eks';
import { InMemoryLock, never, obj, OutcomeRecorder } from './fakes';

const as = <T>(j: unknown) => j as T;

/** the real services over EKS in memory: the workflow meets the rules it meets in AWS */
function world(options: { eks?: Record<string, unknown>; fakes?: Record<string, Fake> } = {}) {
  const eks = new FakeEks();
  const lock = new InMemoryLock();
  const outcomes = new OutcomeRecorder();
  const clusters = configDirectory(eksTestClusters(options.eks));
  const clock = { now: () => new Date('2026-11-30T10:00:00Z') };
  const deps = { clusters, eks, surroundings: eks, clock };
  const approvals: Json[] = [];
  const fakes: Record<string, Fake> = {
    'acquire-lock': lock.acquire,
    'release-lock': lock.release,
    'eks-preflight': async (i) => as<Json>(await runPreflight(as<PreflightInput>(i), deps)),
    'eks-start-update': async (i) => as<Json>(await startUpdate(as<StartUpdateInput>(i), deps)),
    'eks-check-update': async (i) => as<Json>(await checkUpdate(as<CheckUpdateInput>(i), deps)),
    'request-approval': (i) => {
      approvals.push(i);
      return { approved: true, approver: 'slack:U024BE7LH' };
    },
    'publish-outcome': outcomes.publish,
    ...options.fakes,
  };
  return {
    eks,
    lock,
    outcomes,
    approvals,
    run: (input: Record<string, Json> = {}, timeoutMs?: Record<string, number>) =>
      runWorkflow('eks-upgrade', { cluster: 'prod-eks', requestedBy: 'cli', ...input }, { fakes, timeoutMs }),
  };
}

describe('eks-upgrade workflow', () => {
  it('upgrades the control plane, then each add-on, then each managed node group, one at a time, and reports every step with its update id', async () => {
    const w = world();
    const result = await w.run();

    expect(result.status).toBe('SUCCEEDED');
    expect(w.eks.changes()).toEqual([
      { kind: 'cluster', version: '1.32' },
      { kind: 'addon', name: 'vpc-cni', addonVersion: 'v1.19.2-eksbuild.1' },
      { kind: 'addon', name: 'coredns', addonVersion: 'v1.11.4-eksbuild.2' },
      { kind: 'addon', name: 'kube-proxy', addonVersion: 'v1.32.0-eksbuild.2' },
      { kind: 'addon', name: 'aws-ebs-csi-driver', addonVersion: 'v1.38.1-eksbuild.1' },
      { kind: 'nodegroup', name: 'general-a', version: '1.32' },
      { kind: 'nodegroup', name: 'general-b', version: '1.32' },
    ]);
    expect(w.eks.state.version).toBe('1.32');
    expect(w.eks.state.nodegroups['general-b']!.version).toBe('1.32');
    // one at a time: each update started only after the one before it was Successful
    const ops = w.eks.calls.filter((c) => c.op === 'startUpdate' || c.op === 'describeUpdate');
    for (const [i, c] of ops.entries()) {
      if (c.op === 'startUpdate' && i > 0) expect(ops[i - 1]!.op).toBe('describeUpdate');
    }
    expect(w.lock.holder('prod-eks')).toBeUndefined();
    const [outcome] = w.outcomes.published;
    expect(outcome).toMatchObject({ outcome: 'Succeeded', workflow: 'eks-upgrade' });
    const steps = as<{ description: string; updateId: string; status: string }[]>(outcome!['steps']!);
    expect(steps.map((s) => `${s.description} ${s.status}`)).toEqual([
      'control plane 1.32 Successful',
      'add-on vpc-cni v1.19.2-eksbuild.1 Successful',
      'add-on coredns v1.11.4-eksbuild.2 Successful',
      'add-on kube-proxy v1.32.0-eksbuild.2 Successful',
      'add-on aws-ebs-csi-driver v1.38.1-eksbuild.1 Successful',
      'node group general-a 1.32 Successful',
      'node group general-b 1.32 Successful',
    ]);
    expect(new Set(steps.map((s) => s.updateId)).size).toBe(7);
    expect(String(outcome!['summary'])).toContain('WARNING Deprecated APIs removed in Kubernetes v1.32');
  });

  it('asks for approval with the preflight summary and the cluster timeout, as the gate contract says', async () => {
    const w = world();
    await w.run();

    expect(w.approvals).toEqual([
      expect.objectContaining({
        cluster: 'prod-eks',
        workflow: 'eks-upgrade',
        requestedBy: 'cli',
        timeoutSeconds: 3600,
        summary: expect.stringContaining('EKS upgrade of prod-eks: 1.31 → 1.32'),
      }),
    ]);
    const gate = readWorkflow('eks-upgrade').States['Ask for approval']!;
    expect(gate).toMatchObject({
      Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
      TimeoutSecondsPath: '$.approval.timeoutSeconds',
      ResultPath: '$.approval.decision',
    });
    expect(gate.Parameters).toMatchObject({ FunctionName: '${RequestApprovalFunctionArn}' });
  });

  it('stops after the preflight on a dry run, changing nothing and reporting what would change', async () => {
    const w = world();
    const result = await w.run({ dryRun: true });

    expect(result.status).toBe('SUCCEEDED');
    expect(w.eks.changes()).toEqual([]);
    expect(w.approvals).toEqual([]);
    expect(w.outcomes.published).toEqual([
      expect.objectContaining({
        outcome: 'Succeeded',
        note: 'Dry run: nothing was changed.',
        summary: expect.stringContaining('vpc-cni v1.18.3-eksbuild.2 → v1.19.2-eksbuild.1'),
      }),
    ]);
    expect(w.lock.holder('prod-eks')).toBeUndefined();
  });

  it('fails with EksPreflightBlockedError when an upgrade insight is ERROR, naming it and its recommendation, and changes nothing', async () => {
    const w = world();
    w.eks.state.insights.push({
      id: 'a1b2c3d4-0000-4000-8000-000000000009',
      name: 'Amazon Linux 2 compatibility',
      kubernetesVersion: '1.32',
      status: 'ERROR',
      reason: 'Amazon Linux 2 nodes detected; AL2 AMIs are not published for Kubernetes 1.33 and later.',
      recommendation: 'Migrate node groups to Amazon Linux 2023 or Bottlerocket.',
    });
    const result = await w.run();

    expect(result.status).toBe('FAILED');
    expect(result.error?.Error).toBe('EksPreflightBlockedError');
    expect(result.error?.Cause).toContain('Amazon Linux 2 compatibility');
    expect(result.error?.Cause).toContain('Migrate node groups to Amazon Linux 2023');
    expect(w.eks.changes()).toEqual([]);
    expect(w.approvals).toEqual([]);
    expect(w.lock.holder('prod-eks')).toBeUndefined();
    expect(w.outcomes.published).toEqual([
      expect.objectContaining({
        outcome: 'Failed',
        summary: expect.stringContaining('WARNING Deprecated APIs removed in Kubernetes v1.32'),
        error: expect.objectContaining({ Error: 'EksPreflightBlockedError' }),
      }),
    ]);
  });

  it('fails with EksPreflightBlockedError when an add-on has no version for the target', async () => {
    const w = world();
    w.eks.state.addons['vendor-agent'] = 'v2.0.0-eksbuild.1';
    w.eks.state.addonVersions['vendor-agent'] = [
      { version: 'v2.0.0-eksbuild.1', compatibilities: [{ clusterVersion: '1.31', defaultVersion: true }] },
    ];
    const result = await w.run();

    expect(result.status).toBe('FAILED');
    expect(result.error).toEqual({
      Error: 'EksPreflightBlockedError',
      Cause: 'add-on vendor-agent: EKS offers no version of vendor-agent for Kubernetes 1.32',
    });
    expect(w.eks.changes()).toEqual([]);
  });

  it.each([
    ['a skipped minor', { version: '1.33' }, 'version: 1.33 skips a minor release'],
    ['a downgrade', { version: '1.30' }, 'version: 1.30 is older than the cluster'],
  ])(
    'refuses %s after DescribeCluster, before any other EKS call, and releases the lock',
    async (_what, input, message) => {
      const w = world();
      const result = await w.run(input);

      expect(result.status).toBe('FAILED');
      expect(result.error?.Error).toBe('InvalidInputError');
      expect(result.error?.Cause).toContain(message);
      expect(w.eks.calls.map((c) => c.op)).toEqual(['describeCluster']);
      expect(w.lock.holder('prod-eks')).toBeUndefined();
    },
  );

  it('refuses a cluster that is not EKS before any EKS call', async () => {
    const w = world();
    const result = await w.run({ cluster: 'prod-eu' });

    expect(result.status).toBe('FAILED');
    expect(result.error?.Error).toBe('NotForThisKindError');
    expect(result.error?.Cause).toContain('prod-eu is a kubeadm cluster');
    expect(w.eks.calls).toEqual([]);
  });

  it('stops with the update errors when the control-plane update fails, and upgrades nothing after it', async () => {
    const w = world();
    w.eks.failNext('cluster', [
      {
        errorCode: 'IpNotAvailable',
        errorMessage: 'The subnet subnet-0a1b2c3d4e5f60001 does not have enough free IP addresses.',
        resourceIds: ['subnet-0a1b2c3d4e5f60001'],
      },
    ]);
    const result = await w.run();

    expect(result.status).toBe('FAILED');
    expect(result.error?.Error).toBe('EksUpdateFailedError');
    expect(result.error?.Cause).toMatch(/control plane 1\.32: update \S+ ended Failed/);
    expect(result.error?.Cause).toContain('IpNotAvailable');
    expect(w.eks.changes()).toEqual([{ kind: 'cluster', version: '1.32' }]);
    expect(w.lock.holder('prod-eks')).toBeUndefined();
    expect(w.outcomes.published).toEqual([
      expect.objectContaining({
        outcome: 'Failed',
        steps: [expect.objectContaining({ description: 'control plane 1.32', status: 'Failed' })],
      }),
    ]);
  });

  it('reports a PodEvictionFailure of a node group with the pods named, keeping the steps before it', async () => {
    const w = world();
    w.eks.failNext('nodegroup/general-a', [
      {
        errorCode: 'PodEvictionFailure',
        errorMessage: 'Reached max retries while trying to evict pods from nodes in node group general-a',
        resourceIds: ['payments/api-7d9f8c6b5-x2x4q', 'ip-10-0-1-23.eu-west-1.compute.internal'],
      },
    ]);
    const result = await w.run();

    expect(result.status).toBe('FAILED');
    expect(result.error?.Cause).toContain('Pods that could not be evicted: payments/api-7d9f8c6b5-x2x4q');
    expect(result.error?.Cause).toContain('eks.forceNodegroupUpdate');
    expect(w.eks.changes().map((t) => t.kind)).toEqual([
      'cluster',
      'addon',
      'addon',
      'addon',
      'addon',
      'nodegroup',
    ]);
    const steps = as<{ status: string }[]>(w.outcomes.published[0]!['steps']!);
    expect(steps.map((s) => s.status)).toEqual([...Array<string>(5).fill('Successful'), 'Failed']);
  });

  it('passes force to UpdateNodegroupVersion only when eks.forceNodegroupUpdate is set', async () => {
    const plain = world();
    await plain.run();
    const forced = world({ eks: { forceNodegroupUpdate: true } });
    await forced.run();

    const force = (w: ReturnType<typeof world>) =>
      w.eks.calls
        .filter((c) => c.op === 'startUpdate')
        .map((c) => [(c.args[1] as { kind: string }).kind, (c.args[2] as { force: boolean }).force]);
    expect(force(plain).filter(([k]) => k === 'nodegroup')).toEqual([
      ['nodegroup', false],
      ['nodegroup', false],
    ]);
    expect(force(forced).filter(([k]) => k === 'nodegroup')).toEqual([
      ['nodegroup', true],
      ['nodegroup', true],
    ]);
    expect(
      force(forced)
        .filter(([k]) => k !== 'nodegroup')
        .every(([, f]) => f === false),
    ).toBe(true);
  });

  it('fails when an update is still InProgress at its deadline, counting the checks in the state', async () => {
    const w = world();
    w.eks.checksToFinish = 1000;
    const result = await w.run();

    expect(result.status).toBe('FAILED');
    expect(result.error?.Cause).toContain('still InProgress after 90 minutes');
    expect(result.callsTo('eks-check-update')).toHaveLength(90);
    expect(w.eks.changes()).toHaveLength(1);
  });

  it('ends at the deny path when an approver denies, changing nothing', async () => {
    const w = world({
      fakes: {
        'request-approval': () => {
          throw new ApprovalDeniedError('denied by slack:U0G9QF9C6: not during the sale');
        },
      },
    });
    const result = await w.run();

    expect(result.status).toBe('FAILED');
    expect(result.error?.Error).toBe('ApprovalDeniedError');
    expect(result.states).toContain('Release the lock after the denial');
    expect(w.eks.changes()).toEqual([]);
    expect(w.lock.holder('prod-eks')).toBeUndefined();
    expect(w.outcomes.published).toEqual([
      expect.objectContaining({
        outcome: 'Skipped',
        error: expect.objectContaining({ Error: 'ApprovalDeniedError' }),
      }),
    ]);
  });

  it('ends at the timeout path when nobody answers in time, changing nothing', async () => {
    const w = world({ fakes: { 'request-approval': never } });
    const result = await w.run({}, { 'Ask for approval': 50 });

    expect(result.states).toContain('Note that nobody answered in time');
    expect(result.status).toBe('FAILED');
    expect(w.eks.changes()).toEqual([]);
    expect(w.lock.holder('prod-eks')).toBeUndefined();
  });

  it('ends Skipped without any EKS call when another operation holds the lock', async () => {
    const w = world();
    w.lock.hold('prod-eks', {
      owner: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-eks-patch-nodegroups:x',
      operation: 'eks-patch-nodegroups',
      acquiredAt: '2026-11-30T09:00:00Z',
      expiresAt: '2026-12-01T09:00:00Z',
    });
    const result = await w.run();

    expect(result.status).toBe('SUCCEEDED');
    expect(w.eks.calls).toEqual([]);
    expect(w.outcomes.published).toEqual([expect.objectContaining({ outcome: 'Skipped' })]);
  });

  it('skips the control plane on a re-run after it was upgraded, and finishes add-ons and node groups', async () => {
    const w = world();
    w.eks.state.version = '1.32';
    const result = await w.run({ version: '1.32' });

    expect(result.status).toBe('SUCCEEDED');
    expect(w.eks.changes()[0]).toEqual({
      kind: 'addon',
      name: 'vpc-cni',
      addonVersion: 'v1.19.2-eksbuild.1',
    });
    expect(w.eks.changes().some((t) => t.kind === 'cluster')).toBe(false);
  });

  it('waits with Wait states whose seconds the check deadline is counted in, never by retrying an error', () => {
    const machine = readWorkflow('eks-upgrade');

    expect(machine.States['Give the control plane time to update']).toMatchObject({
      Type: 'Wait',
      Seconds: EKS_CHECK_SECONDS.cluster,
    });
    expect(machine.States['Give the add-on time to update']).toMatchObject({
      Seconds: EKS_CHECK_SECONDS.addon,
    });
    expect(machine.States['Give the node group time to update']).toMatchObject({
      Seconds: EKS_CHECK_SECONDS.nodegroup,
    });
    for (const name of [
      "Check the control plane's update",
      "Check the add-on's update",
      "Check the node group's update",
    ]) {
      expect(machine.States[name]!.Retry!.flatMap((r) => r.ErrorEquals)).not.toContain(
        'EksUpdateFailedError',
      );
    }
  });

  it('releases the lock and reports when the preflight itself fails (throttled past its retries)', async () => {
    const w = world({
      fakes: {
        'eks-preflight': (i) => {
          obj(i);
          const e = new Error('Rate exceeded');
          e.name = 'ThrottlingException';
          throw e;
        },
      },
    });
    const result = await w.run();

    expect(result.status).toBe('FAILED');
    expect(w.lock.holder('prod-eks')).toBeUndefined();
    expect(w.outcomes.published).toEqual([expect.objectContaining({ outcome: 'Failed' })]);
  });
});
