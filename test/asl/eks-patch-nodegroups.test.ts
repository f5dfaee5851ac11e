import { checkUpdate, type CheckUpdateInput } from '../../functions/eks-check-update/service';
import { planPatch, type PlanPatchInput } from '../../functions/eks-plan-patch/service';
import { startUpdate, type StartUpdateInput } from '../../functions/eks-start-update/service';
import { runWorkflow, type Fake, type Json } from '../../sandbox/asl-runner';
import { configDirectory } from '../../sandbox/local-adapters';
import { eksTestClusters, FakeEks } from '../support/fake-eks';
import { InMemoryLock, OutcomeRecorder } from './fakes';

const as = <T>(j: unknown) => j as T;

function world(options: { now?: () => Date; eks?: Record<string, unknown> } = {}) {
  const eks = new FakeEks();
  const lock = new InMemoryLock();
  const outcomes = new OutcomeRecorder();
  const clusters = configDirectory(eksTestClusters(options.eks ?? { patch: { windowMinutes: 120 } }));
  let now = new Date('2026-11-29T03:00:00Z');
  const clock = { now: options.now ?? (() => now) };
  const deps = { clusters, eks, surroundings: eks, clock };
  const fakes: Record<string, Fake> = {
    'acquire-lock': lock.acquire,
    'release-lock': lock.release,
    'eks-plan-patch': async (i) => as<Json>(await planPatch(as<PlanPatchInput>(i), deps)),
    'eks-start-update': async (i) => as<Json>(await startUpdate(as<StartUpdateInput>(i), deps)),
    'eks-check-update': async (i) => as<Json>(await checkUpdate(as<CheckUpdateInput>(i), deps)),
    'publish-outcome': outcomes.publish,
  };
  return {
    eks,
    lock,
    outcomes,
    setNow: (d: Date) => (now = d),
    fakes,
    run: (input: Record<string, Json> = {}) =>
      runWorkflow(
        'eks-patch-nodegroups',
        { cluster: 'prod-eks', requestedBy: 'schedule', ...input },
        { fakes },
      ),
  };
}

describe('eks-patch-nodegroups workflow', () => {
  it('moves each node group behind the newest AMI release of its version, one at a time, skipping those already current', async () => {
    const w = world();
    const result = await w.run();

    expect(result.status).toBe('SUCCEEDED');
    // general-b is already on 1.31.3-20250103, the newest release for AL2023 1.31
    expect(w.eks.changes()).toEqual([
      { kind: 'nodegroup', name: 'general-a', releaseVersion: '1.31.3-20250103' },
    ]);
    expect(w.eks.state.nodegroups['general-a']).toMatchObject({
      version: '1.31',
      releaseVersion: '1.31.3-20250103',
    });
    expect(w.lock.holder('prod-eks', 'workers')).toBeUndefined();
    const [outcome] = w.outcomes.published;
    expect(outcome).toMatchObject({ outcome: 'Succeeded', workflow: 'eks-patch-nodegroups' });
    expect(outcome!['steps']).toEqual([
      expect.objectContaining({
        description: 'node group general-a AMI 1.31.3-20250103',
        status: 'Successful',
      }),
    ]);
    expect(String(outcome!['summary'])).toContain(
      'general-b (1.31): left alone: already on the newest AMI release',
    );
    expect(String(outcome!['summary'])).toContain(
      'not touched (karpenter): Karpenter NodePool default, 3 node(s)',
    );
  });

  it('lists what would change on a dry run and changes nothing', async () => {
    const w = world();
    const result = await w.run({ dryRun: true });

    expect(result.status).toBe('SUCCEEDED');
    expect(w.eks.changes()).toEqual([]);
    expect(w.outcomes.published).toEqual([
      expect.objectContaining({
        note: 'Dry run: nothing was changed.',
        summary: expect.stringContaining('general-a (1.31): 1.31.2-20241121 → 1.31.3-20250103'),
      }),
    ]);
  });

  it('starts nothing new once the maintenance window has closed, and says what is left', async () => {
    let calls = 0;
    // the plan is made at 03:00; the first start is asked at 05:01, after the 120-minute window
    const w = world({
      now: () => new Date(calls++ === 0 ? '2026-11-29T03:00:00Z' : '2026-11-29T05:01:00Z'),
    });
    const result = await w.run();

    expect(result.status).toBe('SUCCEEDED');
    expect(w.eks.changes()).toEqual([]);
    expect(result.states).toContain("Release the lock at the window's end");
    expect(w.outcomes.published).toEqual([
      expect.objectContaining({
        outcome: 'Succeeded',
        note: expect.stringContaining('The maintenance window closed at 2026-11-29T05:00:00.000Z'),
      }),
    ]);
  });

  it('stops with the errors of a failed node-group update and releases the lock', async () => {
    const w = world();
    w.eks.failNext('nodegroup/general-a', [
      {
        errorCode: 'NodeCreationFailure',
        errorMessage: 'Instances failed to join the kubernetes cluster',
        resourceIds: ['i-0123456789abcdef0'],
      },
    ]);
    const result = await w.run();

    expect(result.status).toBe('FAILED');
    expect(result.error?.Error).toBe('EksUpdateFailedError');
    expect(result.error?.Cause).toContain(
      'NodeCreationFailure: Instances failed to join the kubernetes cluster [i-0123456789abcdef0]',
    );
    expect(w.lock.holder('prod-eks', 'workers')).toBeUndefined();
  });

  it('refuses a cluster that is not EKS before any EKS call', async () => {
    const w = world();
    const result = await runWorkflow('eks-patch-nodegroups', { cluster: 'prod-eu' }, { fakes: w.fakes });

    expect(result.status).toBe('FAILED');
    expect(result.error?.Error).toBe('NotForThisKindError');
    expect(w.eks.calls).toEqual([]);
  });

  it('ends Skipped without any EKS call while an upgrade campaign holds the lock', async () => {
    const w = world();
    w.lock.hold('prod-eks', {
      owner: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-eks-upgrade:x',
      operation: 'eks-upgrade',
      acquiredAt: '2026-11-29T02:00:00Z',
      expiresAt: '2026-11-30T02:00:00Z',
    });
    const result = await w.run();

    expect(result.status).toBe('SUCCEEDED');
    expect(w.eks.calls).toEqual([]);
    expect(w.outcomes.published).toEqual([expect.objectContaining({ outcome: 'Skipped' })]);
  });
});
