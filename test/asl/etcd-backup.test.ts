import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CommandFailedError,
  CommandTimedOutError,
  EtcdUnhealthyError,
  NoInstancesFoundError,
  TransientError,
  UploadMismatchError,
} from '../../functions/shared/errors';
import {
  pickMember,
  type MemberFailure,
  type MemberStatus,
} from '../../functions/shared/domain/member-selection';
import {
  FAKE_TASK_TOKEN,
  REPO_ROOT,
  readWorkflow,
  runWorkflow,
  type Fake,
  type Json,
} from '../../sandbox/asl-runner';
import { InMemoryLock, OutcomeRecorder, never, obj } from './fakes';

// Arrange helpers ---------------------------------------------------------------------------

const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'etcd-backup.json'), 'utf8')) as {
  instances: Json[];
  statuses: Record<string, Json>;
  snapshot: Record<string, Json>;
  upload: Json;
  pruned: Json;
};
const input = JSON.parse(
  readFileSync(join(REPO_ROOT, 'events', 'scheduler', 'etcd-backup.json'), 'utf8'),
) as {
  cluster: string;
};
const CLUSTER = input.cluster;
const [LEADER, BEST_FOLLOWER, OTHER_FOLLOWER] = [
  'i-0a1b2c3d4e5f60001',
  'i-0a1b2c3d4e5f60002',
  'i-0a1b2c3d4e5f60003',
] as const;

/** a Lambda service error as Step Functions names it (not a Caretaker error) */
class LambdaServiceError extends Error {
  constructor(override readonly name: string) {
    super(`${name}: simulated`);
  }
}

type PerInstance = (instanceId: string) => Json | Promise<Json>;

const PATCHING = {
  owner: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-patch-workers:nightly',
  operation: 'patch-workers',
  acquiredAt: '2026-11-25T05:30:00.000Z',
  expiresAt: '2026-11-25T09:30:00.000Z',
};
const UPGRADING = {
  owner: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-upgrade-control-plane:v1-35',
  operation: 'upgrade-control-plane',
  acquiredAt: '2026-11-25T05:45:00.000Z',
  expiresAt: '2026-11-25T09:45:00.000Z',
};

interface WorldOptions {
  status?: PerInstance;
  snapshot?: PerInstance;
  fakes?: Record<string, Fake>;
}

/** the cluster as the fakes see it: an in-memory lock, three members, S3 that agrees */
function world(options: WorldOptions = {}) {
  const lock = new InMemoryLock();
  const outcomes = new OutcomeRecorder();
  const status: PerInstance = options.status ?? ((id) => fixture.statuses[id]!);
  const snapshot: PerInstance = options.snapshot ?? ((id) => ({ ...fixture.snapshot, instanceId: id }));
  const fakes: Record<string, Fake> = {
    'acquire-lock': lock.acquire,
    'release-lock': lock.release,
    'find-control-plane': () => ({ instances: fixture.instances }),
    'send-command': (payload) => {
      const { command, instanceId } = obj(payload);
      return command === 'etcd-status' ? status(String(instanceId)) : snapshot(String(instanceId));
    },
    // the real choice, from the domain: a healthy follower with the highest revision
    'pick-member': (payload) =>
      pickMember(obj(payload)['statuses'] as unknown as (MemberStatus | MemberFailure)[]) as unknown as Json,
    'verify-upload': () => fixture.upload,
    'prune-snapshots': () => fixture.pruned,
    'publish-outcome': outcomes.publish,
    ...options.fakes,
  };
  return { lock, outcomes, fakes };
}

const commandsSent = (run: Awaited<ReturnType<typeof runWorkflow>>, command: string) =>
  run.inputsTo('send-command').filter((p) => obj(p)['command'] === command);

const HAPPY_PATH = [
  'Is this backup part of a parent workflow?',
  "Take the cluster's control-plane lock",
  'Did we get the lock?',
  'Find the control-plane instances',
  "Does etcd-manager take this cluster's backups?",
  "Check every member's health",
  'Pick the member to snapshot',
  'Take the snapshot on the picked member',
  'Verify the uploaded snapshot',
  'Does this cluster back up its events etcd too?',
  'Make sure the lease is still ours before pruning',
  'Prune snapshots past retention',
  'Release the lock',
  'Report the successful backup',
  'Backup done',
];
const FAILURE_PATH = [
  'Release the lock after the failure',
  'Report the failed backup',
  'Fail with the original error',
];

/** every failure after the lock: released by its owner, reported, nothing pruned, execution failed */
function expectFailedSafely(
  run: Awaited<ReturnType<typeof runWorkflow>>,
  w: ReturnType<typeof world>,
  error: string,
) {
  expect(run.status).toBe('FAILED');
  expect(run.error?.Error).toBe(error);
  expect(run.states.slice(-3)).toEqual(FAILURE_PATH);
  expect(run.inputsTo('release-lock')).toEqual([{ cluster: CLUSTER, owner: run.executionId }]);
  expect(w.lock.holder(CLUSTER)).toBeUndefined();
  expect(run.callsTo('prune-snapshots')).toHaveLength(0);
  expect(w.outcomes.published).toHaveLength(1);
  expect(w.outcomes.published[0]).toMatchObject({
    cluster: CLUSTER,
    workflow: 'etcd-backup',
    outcome: 'Failed',
    executionId: run.executionId,
    error: { Error: error },
  });
  // the lock goes before the notification, so a failed notification cannot keep it
  const order = run.calls.map((c) => c.target);
  expect(order.lastIndexOf('release-lock')).toBeLessThan(order.lastIndexOf('publish-outcome'));
}

// Tests -------------------------------------------------------------------------------------

describe('etcd-backup workflow', () => {
  it('snapshots the healthy follower with the highest revision, verifies, prunes, unlocks and reports', async () => {
    const w = world();

    const run = await runWorkflow('etcd-backup', input, { fakes: w.fakes });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.states).toEqual(HAPPY_PATH);
    expect(run.inputsTo('acquire-lock')).toEqual([
      {
        cluster: CLUSTER,
        owner: run.executionId,
        operation: 'etcd-backup',
        scopes: ['control-plane'],
        leaseSeconds: 7200,
      },
      {
        cluster: CLUSTER,
        owner: run.executionId,
        operation: 'etcd-backup',
        scopes: ['control-plane'],
        leaseSeconds: 7200,
        renew: true,
      },
    ]);
    expect(commandsSent(run, 'etcd-status')).toEqual(
      [LEADER, BEST_FOLLOWER, OTHER_FOLLOWER].map((instanceId) => ({
        taskToken: FAKE_TASK_TOKEN,
        cluster: CLUSTER,
        instanceId,
        command: 'etcd-status',
        executionId: run.executionId,
        state: 'Ask the member for its etcd status',
      })),
    );
    expect(commandsSent(run, 'etcd-snapshot')).toEqual([
      {
        taskToken: FAKE_TASK_TOKEN,
        cluster: CLUSTER,
        instanceId: BEST_FOLLOWER,
        command: 'etcd-snapshot',
        executionId: run.executionId,
        state: 'Take the snapshot on the picked member',
      },
    ]);
    expect(run.inputsTo('verify-upload')).toEqual([{ cluster: CLUSTER, snapshot: fixture.snapshot }]);
    expect(run.inputsTo('prune-snapshots')).toEqual([{ cluster: CLUSTER }]);
    expect(run.inputsTo('release-lock')).toEqual([{ cluster: CLUSTER, owner: run.executionId }]);
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
    expect(w.outcomes.published).toEqual([
      expect.objectContaining({
        cluster: CLUSTER,
        workflow: 'etcd-backup',
        outcome: 'Succeeded',
        executionId: run.executionId,
        snapshot: fixture.snapshot,
        pruned: fixture.pruned,
      }),
    ]);
    expect(typeof w.outcomes.published[0]!['startedAt']).toBe('string');
    const order = run.calls.map((c) => c.target);
    expect(order.indexOf('release-lock')).toBeLessThan(order.indexOf('publish-outcome'));
  });

  it('keeps the state small: results land under their own keys', async () => {
    const w = world();

    const run = await runWorkflow('etcd-backup', input, { fakes: w.fakes });

    expect(Object.keys(obj(run.output!)).sort()).toEqual(
      [
        'cluster',
        'controlPlane',
        'lock',
        'member',
        'notification',
        'pruned',
        'release',
        'snapshot',
        'statuses',
        'upload',
      ].sort(),
    );
    expect(obj(run.output!)['member']).toMatchObject({ instanceId: BEST_FOLLOWER, isLeader: false });
  });

  it('skips, touching nothing, when another operation holds the lock', async () => {
    const w = world();
    const heldBy = {
      owner: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-patch-workers:nightly',
      operation: 'patch-workers',
      acquiredAt: '2026-11-25T05:30:00.000Z',
      expiresAt: '2026-11-25T09:30:00.000Z',
    };
    w.lock.hold(CLUSTER, heldBy);

    const run = await runWorkflow('etcd-backup', input, { fakes: w.fakes });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.states).toEqual([
      'Is this backup part of a parent workflow?',
      "Take the cluster's control-plane lock",
      'Did we get the lock?',
      'Report that another operation holds the lock',
      'Skip the backup',
    ]);
    expect(run.calls.map((c) => c.target)).toEqual(['acquire-lock', 'publish-outcome']);
    expect(w.outcomes.published).toEqual([
      expect.objectContaining({
        cluster: CLUSTER,
        workflow: 'etcd-backup',
        outcome: 'Skipped',
        heldBy: { ...heldBy, scope: 'control-plane' },
      }),
    ]);
    expect(w.lock.holder(CLUSTER)).toEqual(heldBy);
  });

  it('snapshots another member when one member cannot report its status', async () => {
    const w = world({
      status: (id) => {
        if (id === BEST_FOLLOWER) throw new CommandFailedError('etcd-status exited 1 on i-0a1b2c3d4e5f60002');
        return fixture.statuses[id]!;
      },
    });

    const run = await runWorkflow('etcd-backup', input, { fakes: w.fakes });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.states).toEqual(HAPPY_PATH);
    expect(obj(run.inputsTo('pick-member')[0]!)['statuses']).toContainEqual({
      instanceId: BEST_FOLLOWER,
      error: { Error: 'CommandFailedError', Cause: 'etcd-status exited 1 on i-0a1b2c3d4e5f60002' },
    });
    expect(commandsSent(run, 'etcd-snapshot')).toEqual([
      expect.objectContaining({ instanceId: OTHER_FOLLOWER }),
    ]);
    expect(run.callsTo('prune-snapshots')).toHaveLength(1);
  });

  it('snapshots another member when one status command never completes (States.Timeout)', async () => {
    const w = world({ status: (id) => (id === BEST_FOLLOWER ? never() : fixture.statuses[id]!) });

    const run = await runWorkflow('etcd-backup', input, {
      fakes: w.fakes,
      timeoutMs: { 'Ask the member for its etcd status': 50 },
    });

    expect(run.status).toBe('SUCCEEDED');
    expect(obj(run.inputsTo('pick-member')[0]!)['statuses']).toContainEqual({
      instanceId: BEST_FOLLOWER,
      error: expect.objectContaining({ Error: 'States.Timeout' }),
    });
    expect(commandsSent(run, 'etcd-snapshot')).toEqual([
      expect.objectContaining({ instanceId: OTHER_FOLLOWER }),
    ]);
  });

  it('fails, unlocks and reports when no member is healthy, without snapshotting or pruning', async () => {
    const w = world({
      status: (id) =>
        id === LEADER
          ? { ...obj(fixture.statuses[id]!), healthy: false, reason: 'alarm NOSPACE' }
          : Promise.reject(new CommandTimedOutError(`etcd-status on ${id} never completed`)),
    });

    const run = await runWorkflow('etcd-backup', input, { fakes: w.fakes });

    expectFailedSafely(run, w, 'EtcdUnhealthyError');
    expect(run.error?.Cause).toContain('alarm NOSPACE');
    expect(commandsSent(run, 'etcd-snapshot')).toHaveLength(0);
    expect(run.callsTo('verify-upload')).toHaveLength(0);
  });

  it('fails, unlocks and reports when the snapshot command fails, and does not retry it', async () => {
    const w = world({
      snapshot: () => {
        throw new CommandFailedError('etcdctl snapshot save: context deadline exceeded');
      },
    });

    const run = await runWorkflow('etcd-backup', input, { fakes: w.fakes });

    expectFailedSafely(run, w, 'CommandFailedError');
    expect(run.error?.Cause).toBe('etcdctl snapshot save: context deadline exceeded');
    expect(commandsSent(run, 'etcd-snapshot')).toHaveLength(1);
    expect(run.callsTo('verify-upload')).toHaveLength(0);
  });

  it('fails, unlocks and reports when the reconciler times the snapshot command out (CommandTimedOutError)', async () => {
    const w = world({
      snapshot: () => {
        throw new CommandTimedOutError('no completion for the etcd-snapshot command within its deadline');
      },
    });

    const run = await runWorkflow('etcd-backup', input, { fakes: w.fakes });

    expectFailedSafely(run, w, 'CommandTimedOutError');
    expect(commandsSent(run, 'etcd-snapshot')).toHaveLength(1);
  });

  it('fails, unlocks and reports when the snapshot task itself times out (States.Timeout)', async () => {
    const w = world({ snapshot: () => never() });

    const run = await runWorkflow('etcd-backup', input, {
      fakes: w.fakes,
      timeoutMs: { 'Take the snapshot on the picked member': 50 },
    });

    expectFailedSafely(run, w, 'States.Timeout');
    expect(run.callsTo('verify-upload')).toHaveLength(0);
  });

  it('fails without pruning when the upload does not match its manifest', async () => {
    const w = world({
      fakes: {
        'verify-upload': () => {
          throw new UploadMismatchError('sha256 of the object differs from the manifest');
        },
      },
    });

    const run = await runWorkflow('etcd-backup', input, { fakes: w.fakes });

    expectFailedSafely(run, w, 'UploadMismatchError');
    expect(run.states).toEqual([
      ...HAPPY_PATH.slice(0, HAPPY_PATH.indexOf('Verify the uploaded snapshot') + 1),
      ...FAILURE_PATH,
    ]);
  });

  it('fails, unlocks and reports when no control-plane instance is found', async () => {
    const w = world({
      fakes: {
        'find-control-plane': () => {
          throw new NoInstancesFoundError('no running instance tagged caretaker:cluster=prod-eu');
        },
      },
    });

    const run = await runWorkflow('etcd-backup', input, { fakes: w.fakes });

    expectFailedSafely(run, w, 'NoInstancesFoundError');
    expect(run.callsTo('send-command')).toHaveLength(0);
  });

  it('retries Lambda service errors and transient errors, then carries on', async () => {
    const w = world();
    const throttledOnce: Fake = (payload, call) => {
      if (call.attempt === 1 && !obj(payload)['renew'])
        throw new LambdaServiceError('Lambda.TooManyRequestsException');
      return w.lock.acquire(payload, call);
    };
    const flakyVerify: Fake = (_payload, call) => {
      if (call.attempt < 3) throw new TransientError('S3 HeadObject: 503 SlowDown');
      return fixture.upload;
    };

    const run = await runWorkflow('etcd-backup', input, {
      fakes: { ...w.fakes, 'acquire-lock': throttledOnce, 'verify-upload': flakyVerify },
    });

    expect(run.status).toBe('SUCCEEDED');
    // throttled, taken, renewed
    expect(run.callsTo('acquire-lock')).toHaveLength(3);
    expect(run.callsTo('verify-upload')).toHaveLength(3);
    expect(run.callsTo('prune-snapshots')).toHaveLength(1);
  });

  it('fails with the original error and still reports when the lock cannot be released', async () => {
    const w = world({
      snapshot: () => {
        throw new CommandFailedError('etcd-snapshot exited 2');
      },
      fakes: {
        'release-lock': () => {
          throw new TransientError('DynamoDB DeleteItem: ProvisionedThroughputExceededException');
        },
      },
    });

    const run = await runWorkflow('etcd-backup', input, { fakes: w.fakes });

    expect(run.status).toBe('FAILED');
    expect(run.error).toEqual({ Error: 'CommandFailedError', Cause: 'etcd-snapshot exited 2' });
    expect(run.states.slice(-3)).toEqual(FAILURE_PATH);
    // retried with backoff, then given up: the lease expires on its own
    expect(run.callsTo('release-lock').length).toBeGreaterThan(1);
    expect(run.inputsTo('release-lock').every((i) => obj(i)['owner'] === run.executionId)).toBe(true);
    expect(w.outcomes.published).toEqual([
      expect.objectContaining({
        outcome: 'Failed',
        error: expect.objectContaining({ Error: 'CommandFailedError' }),
      }),
    ]);
    expect(run.callsTo('prune-snapshots')).toHaveLength(0);
  });

  it('fails with the original error when the failure cannot be reported', async () => {
    const w = world({
      fakes: {
        'verify-upload': () => {
          throw new UploadMismatchError('size 0, manifest says 52416544');
        },
        'publish-outcome': () => {
          throw new Error('SNS Publish: AuthorizationError');
        },
      },
    });

    const run = await runWorkflow('etcd-backup', input, { fakes: w.fakes });

    expect(run.status).toBe('FAILED');
    expect(run.error).toEqual({ Error: 'UploadMismatchError', Cause: 'size 0, manifest says 52416544' });
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
    expect(run.callsTo('prune-snapshots')).toHaveLength(0);
  });

  it('rejects an input without a cluster before calling anything', async () => {
    const w = world();

    const run = await runWorkflow('etcd-backup', { clusterName: CLUSTER }, { fakes: w.fakes });

    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe('States.Runtime');
    expect(run.calls).toEqual([]);
  });

  it('holds a lease that outlives any execution', () => {
    const definition = readWorkflow('etcd-backup');
    const leases = [
      "Take the cluster's control-plane lock",
      "Work under the parent workflow's lock",
      'Make sure the lease is still ours before pruning',
    ].map((state) => definition.States[state]!.Parameters?.['leaseSeconds']);

    expect(definition.TimeoutSeconds).toBeGreaterThan(0);
    for (const seconds of leases) expect(seconds).toBeGreaterThan(definition.TimeoutSeconds!);
  });

  it('backs up while worker patching holds the worker scope', async () => {
    const w = world();
    w.lock.hold(CLUSTER, PATCHING, ['workers']);

    const run = await runWorkflow('etcd-backup', input, { fakes: w.fakes });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.states).toEqual(HAPPY_PATH);
    expect(w.lock.holder(CLUSTER, 'workers')).toEqual(PATCHING);
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
  });

  it("runs under its parent's lock as a nested execution, and leaves that lock to the parent", async () => {
    const w = world();
    w.lock.hold(CLUSTER, UPGRADING);

    const run = await runWorkflow(
      'etcd-backup',
      { ...input, parentOwner: UPGRADING.owner },
      { fakes: w.fakes },
    );

    expect(run.status).toBe('SUCCEEDED');
    expect(run.states).toEqual([
      'Is this backup part of a parent workflow?',
      "Work under the parent workflow's lock",
      ...HAPPY_PATH.slice(2),
    ]);
    expect(obj(run.inputsTo('acquire-lock')[0]!)).toMatchObject({
      owner: run.executionId,
      parentOwner: UPGRADING.owner,
      scopes: ['control-plane'],
    });
    // the renewal keeps the parent's lease alive; the release (by this execution) frees nothing
    expect(obj(run.inputsTo('acquire-lock')[1]!)).toMatchObject({ owner: UPGRADING.owner, renew: true });
    expect(run.inputsTo('release-lock')).toEqual([{ cluster: CLUSTER, owner: run.executionId }]);
    expect(w.lock.holder(CLUSTER)?.owner).toBe(UPGRADING.owner);
    expect(w.lock.holder(CLUSTER, 'workers')?.owner).toBe(UPGRADING.owner);
  });

  it('fails with LeaseLostError, touching nothing, when the parent named in the input does not hold the lock', async () => {
    const w = world();
    w.lock.hold(CLUSTER, PATCHING, ['workers']);

    const run = await runWorkflow(
      'etcd-backup',
      { ...input, parentOwner: PATCHING.owner },
      { fakes: w.fakes },
    );

    expectFailedSafely(run, w, 'LeaseLostError');
    expect(run.error?.Cause).toMatch(/does not hold the control-plane lease/);
    expect(run.callsTo('send-command')).toHaveLength(0);
  });

  it('fails with LeaseLostError before pruning when the lease was lost during the backup', async () => {
    const w = world({
      // an operator broke the lock while the snapshot ran, and an upgrade took it
      snapshot: (id) => {
        w.lock.hold(CLUSTER, UPGRADING);
        return { ...fixture.snapshot, instanceId: id };
      },
    });

    const run = await runWorkflow('etcd-backup', input, { fakes: w.fakes });

    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe('LeaseLostError');
    expect(run.error?.Cause).toMatch(/held by upgrade-control-plane/);
    expect(run.states.slice(-4)).toEqual([
      'Make sure the lease is still ours before pruning',
      ...FAILURE_PATH,
    ]);
    expect(run.callsTo('prune-snapshots')).toHaveLength(0);
    // the release is by owner: the upgrade's lease stays
    expect(w.lock.holder(CLUSTER)).toEqual(UPGRADING);
  });

  it('fails naming why each member was refused when every member is unhealthy', async () => {
    const w = world({
      status: (id) => ({ ...obj(fixture.statuses[id]!), healthy: false, reason: `down ${id}` }),
    });

    const run = await runWorkflow('etcd-backup', input, { fakes: w.fakes });

    expect(run.error?.Error).toBe(new EtcdUnhealthyError('').name);
    for (const id of [LEADER, BEST_FOLLOWER, OTHER_FOLLOWER])
      expect(run.error?.Cause).toContain(`down ${id}`);
  });
});
