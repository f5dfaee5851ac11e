import { EKSClient } from '@aws-sdk/client-eks';
import { mockClient } from 'aws-sdk-client-mock';
import { checkUpdate } from '../../../functions/eks-check-update/service';
import { describeOutcome } from '../../../functions/publish-outcome/service';
import * as checkUpdateHandler from '../../../functions/eks-check-update/handler';
import { runPreflight } from '../../../functions/eks-preflight/service';
import { startUpdate } from '../../../functions/eks-start-update/service';
import * as startUpdateHandler from '../../../functions/eks-start-update/handler';
import { InvalidInputError, NotForThisKindError } from '../../../functions/shared/errors';
import { updateToken } from '../../../functions/shared/services/eks-cluster';
import { configDirectory } from '../../../sandbox/local-adapters';
import { eksTestClusters, FakeEks } from '../../support/fake-eks';
import { lambdaContext } from '../../support/lambda-context';

const EXECUTION = 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-eks-upgrade:run-1';

function deps(eks = new FakeEks(), block: Record<string, unknown> = {}) {
  return {
    eks,
    surroundings: eks,
    clusters: configDirectory(eksTestClusters(block)),
    clock: { now: () => new Date('2026-11-30T10:00:00Z') },
  };
}

describe('eks-start-update', () => {
  it('gives the same update the same client request token, and another update another one', async () => {
    const d = deps();
    const target = { kind: 'cluster' as const, version: '1.32' };
    const first = await startUpdate({ cluster: 'prod-eks', executionId: EXECUTION, target }, d);
    const retried = await startUpdate({ cluster: 'prod-eks', executionId: EXECUTION, target }, d);

    expect(retried).toMatchObject({ started: true, updateId: (first as { updateId: string }).updateId });
    const tokens = d.eks.calls
      .filter((c) => c.op === 'startUpdate')
      .map((c) => (c.args[2] as { token: string }).token);
    expect(tokens).toEqual([updateToken(EXECUTION, target), updateToken(EXECUTION, target)]);
    expect(updateToken(EXECUTION, target)).not.toBe(updateToken(`${EXECUTION}-2`, target));
  });

  it('starts nothing after the maintenance window closed', async () => {
    const d = deps();
    const out = await startUpdate(
      {
        cluster: 'prod-eks',
        executionId: EXECUTION,
        target: { kind: 'nodegroup', name: 'general-a', releaseVersion: '1.31.3-20250103' },
        notAfter: '2026-11-30T09:59:59Z',
      },
      d,
    );
    expect(out).toMatchObject({
      started: false,
      reason: expect.stringContaining('The maintenance window closed at 2026-11-30T09:59:59Z'),
    });
    expect(d.eks.calls).toEqual([]);
  });

  it('refuses a cluster that is not EKS before any EKS call', async () => {
    const d = deps();
    await expect(
      startUpdate(
        { cluster: 'prod-eu', executionId: EXECUTION, target: { kind: 'cluster', version: '1.32' } },
        d,
      ),
    ).rejects.toBeInstanceOf(NotForThisKindError);
    expect(d.eks.calls).toEqual([]);
  });

  it.each([
    [{ kind: 'nodegroup', name: 'bad name!', version: '1.32' }, 'target'],
    [{ kind: 'cluster', version: 'latest' }, 'target'],
    [{ kind: 'addon', name: 'coredns' }, 'target'],
  ])('its handler rejects the target %j, naming the field, and calls nothing', async (target, field) => {
    const eks = mockClient(EKSClient);
    const handler = startUpdateHandler.makeHandler(deps());
    await expect(
      handler({ cluster: 'prod-eks', executionId: EXECUTION, target }, lambdaContext()),
    ).rejects.toThrow(new RegExp(`eks-start-update input: .*${field}`));
    await expect(
      handler({ cluster: 'prod-eks', executionId: EXECUTION, target }, lambdaContext()),
    ).rejects.toBeInstanceOf(InvalidInputError);
    expect(eks.calls()).toHaveLength(0);
    eks.restore();
  });
});

describe('eks-check-update', () => {
  it('answers waiting while InProgress, keeping one entry per update in the steps', async () => {
    const d = deps();
    d.eks.checksToFinish = 2;
    const { updateId } = await d.eks.startUpdate(
      'prod-eks',
      { kind: 'cluster', version: '1.32' },
      { force: false, token: 't' },
    );
    const target = { kind: 'cluster' as const, version: '1.32' };

    const first = await checkUpdate({ cluster: 'prod-eks', updateId, target, checks: 0, steps: [] }, d);
    const second = await checkUpdate(
      { cluster: 'prod-eks', updateId, target, checks: first.checks, steps: first.steps },
      d,
    );

    expect(first).toMatchObject({ outcome: 'waiting', status: 'InProgress', checks: 1 });
    expect(second).toMatchObject({ outcome: 'succeeded', status: 'Successful', checks: 2 });
    expect(second.steps).toEqual([
      { description: 'control plane 1.32', kind: 'cluster', updateId, status: 'Successful' },
    ]);
  });

  it('fails at the deadline of the kind, from the cluster config', async () => {
    const d = deps(new FakeEks(), { timeoutMinutes: { addon: 5 } });
    d.eks.checksToFinish = 1000;
    const target = { kind: 'addon' as const, name: 'coredns', addonVersion: 'v1.11.4-eksbuild.2' };
    const { updateId } = await d.eks.startUpdate('prod-eks', target, { force: false, token: 't' });

    // 5 minutes at one check every 15 s: the 20th check is the last
    const at19 = await checkUpdate({ cluster: 'prod-eks', updateId, target, checks: 18 }, d);
    const at20 = await checkUpdate({ cluster: 'prod-eks', updateId, target, checks: 19 }, d);

    expect(at19.outcome).toBe('waiting');
    expect(at20).toMatchObject({
      outcome: 'failed',
      error: {
        Error: 'EksUpdateFailedError',
        Cause: expect.stringContaining('still InProgress after 5 minutes (eks.timeoutMinutes.addon)'),
      },
    });
  });

  it('its handler rejects a malformed update id and calls nothing', async () => {
    const d = deps();
    const handler = checkUpdateHandler.makeHandler(d);
    await expect(
      handler(
        { cluster: 'prod-eks', updateId: '../x', target: { kind: 'cluster', version: '1.32' } },
        lambdaContext(),
      ),
    ).rejects.toThrow(/updateId: must be an EKS update id/);
    expect(d.eks.calls).toEqual([]);
  });
});

describe('eks-preflight', () => {
  it('refuses a skipped minor after DescribeCluster and before any other call', async () => {
    const d = deps();
    await expect(runPreflight({ cluster: 'prod-eks', request: { version: '1.34' } }, d)).rejects.toThrow(
      'version: 1.34 skips a minor release',
    );
    expect(d.eks.calls.map((c) => c.op)).toEqual(['describeCluster']);
  });

  it('reports Auto Mode as capacity it leaves alone', async () => {
    const eks = new FakeEks();
    eks.state.autoMode = true;
    const r = await runPreflight({ cluster: 'prod-eks', request: {} }, deps(eks));
    expect(r.notTouched).toContainEqual({ kind: 'auto-mode', name: 'EKS Auto Mode node pools', nodes: 0 });
    expect(r.requestedBy).toBe('schedule');
    expect(r.approvalTimeoutSeconds).toBe(3600);
  });

  it('clips the approval summary to what the gate takes', async () => {
    const eks = new FakeEks();
    for (let i = 0; i < 40; i++) {
      eks.state.insights.push({
        id: `w-${i}`,
        name: `Warning ${i}`,
        kubernetesVersion: '1.32',
        status: 'WARNING',
        reason: 'x'.repeat(80),
        recommendation: 'y'.repeat(80),
      });
    }
    const r = await runPreflight({ cluster: 'prod-eks', request: {} }, deps(eks));
    expect(r.summary.length).toBeGreaterThan(2000);
    expect(r.summary.length).toBeLessThanOrEqual(16_000);
    expect(r.approvalSummary.length).toBeLessThanOrEqual(2000);
  });
});

describe('the outcome of an EKS campaign', () => {
  it('lists the report and every step with its update id and status', () => {
    const { message } = describeOutcome(
      {
        cluster: 'prod-eks',
        workflow: 'eks-upgrade',
        outcome: 'Failed',
        executionId: EXECUTION,
        startedAt: '2026-11-30T10:00:00Z',
        summary: 'EKS upgrade of prod-eks: 1.31 → 1.32',
        steps: [
          { description: 'control plane 1.32', updateId: 'u-1', status: 'Successful' },
          { description: 'node group general-a 1.32', updateId: 'u-2', status: 'Failed' },
        ],
        error: { Error: 'EksUpdateFailedError', Cause: 'node group general-a 1.32: update u-2 ended Failed' },
      },
      60,
    );
    expect(message).toContain('EKS upgrade of prod-eks: 1.31 → 1.32');
    expect(message).toContain(
      'Steps:\n- control plane 1.32: update u-1 Successful\n- node group general-a 1.32: update u-2 Failed',
    );
    expect(message).toContain('EKS updates already Successful stay');
  });

  it('says when nothing was changed', () => {
    const { message } = describeOutcome(
      {
        cluster: 'prod-eks',
        workflow: 'eks-upgrade',
        outcome: 'Failed',
        executionId: EXECUTION,
        startedAt: '2026-11-30T10:00:00Z',
        steps: [],
      },
      1,
    );
    expect(message).toContain('Steps: none (nothing was changed)');
  });
});
