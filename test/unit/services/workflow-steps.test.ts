import { acquireLock, releaseLock } from '../../../functions/acquire-lock/service';
import { findControlPlane } from '../../../functions/find-control-plane/service';
import { publishOutcome } from '../../../functions/publish-outcome/service';
import { startWorkflow } from '../../../functions/start-workflow/service';
import { NoInstancesFoundError } from '../../../functions/shared/errors';
import {
  fixedClock,
  memoryLocks,
  recordingMetrics,
  recordingNotifier,
  staticDirectory,
  staticInventory,
} from '../../support/fakes';

describe('the operation lock', () => {
  const take = (owner: string) =>
    ({ cluster: 'prod-eu', owner, operation: 'etcd-backup', leaseSeconds: 7200 }) as const;

  it('grants a free lock with an expiry and refuses a second owner, naming the holder', async () => {
    const d = { locks: memoryLocks(), clock: fixedClock() };
    expect(await acquireLock(take('exec-1'), d)).toEqual({
      acquired: true,
      owner: 'exec-1',
      expiresAt: '2026-11-25T08:00:00.000Z',
    });
    expect(await acquireLock(take('exec-2'), d)).toEqual({
      acquired: false,
      heldBy: {
        owner: 'exec-1',
        operation: 'etcd-backup',
        acquiredAt: '2026-11-25T06:00:00.000Z',
        expiresAt: '2026-11-25T08:00:00.000Z',
        scope: 'control-plane',
      },
    });
  });

  it('lets a stale lease be reclaimed after it expired', async () => {
    const d = { locks: memoryLocks(), clock: fixedClock() };
    await acquireLock(take('exec-1'), d);
    d.clock.set('2026-11-25T08:00:01.000Z');
    expect(await acquireLock(take('exec-2'), d)).toMatchObject({ acquired: true, owner: 'exec-2' });
  });

  it('releases only its own lease', async () => {
    const d = { locks: memoryLocks(), clock: fixedClock() };
    await acquireLock(take('exec-1'), d);
    expect(await releaseLock({ cluster: 'prod-eu', owner: 'exec-2' }, d)).toEqual({ released: false });
    expect(await releaseLock({ cluster: 'prod-eu', owner: 'exec-1' }, d)).toEqual({ released: true });
    expect(await releaseLock({ cluster: 'prod-eu', owner: 'exec-1' }, d)).toEqual({ released: false });
  });
});

describe('findControlPlane', () => {
  it('looks the cluster up and asks the inventory for its control-plane tags', async () => {
    const inventory = staticInventory([{ instanceId: 'i-0a1b2c3d4e5f60001' }]);
    const out = await findControlPlane({ cluster: 'prod-eu' }, { clusters: staticDirectory(), inventory });
    expect(out).toEqual({
      instances: [{ instanceId: 'i-0a1b2c3d4e5f60001' }],
      backupSource: 'caretaker',
      kind: 'kubeadm',
      backupEvents: false,
    });
    expect(inventory.findManagedInstances).toHaveBeenCalledWith({
      'caretaker:role': 'control-plane',
      'caretaker:cluster': 'prod-eu',
    });
  });

  it('fails with NoInstancesFoundError naming the tags when nothing matches', async () => {
    const act = findControlPlane(
      { cluster: 'prod-eu' },
      { clusters: staticDirectory(), inventory: staticInventory([]) },
    );
    await expect(act).rejects.toThrow(NoInstancesFoundError);
    await expect(
      findControlPlane(
        { cluster: 'prod-eu' },
        { clusters: staticDirectory(), inventory: staticInventory([]) },
      ),
    ).rejects.toThrow(/caretaker:role=control-plane, caretaker:cluster=prod-eu/);
  });
});

describe('publishOutcome', () => {
  const base = {
    cluster: 'prod-eu',
    workflow: 'etcd-backup',
    executionId: 'arn:aws:states:eu-west-1:123456789012:execution:backup:run-1',
    startedAt: '2026-11-25T05:59:00.000Z',
  };

  it('records success metrics with the snapshot size and notifies with the key', async () => {
    const notifier = recordingNotifier();
    const metrics = recordingMetrics();
    await publishOutcome(
      {
        ...base,
        outcome: 'Succeeded',
        snapshot: { key: 'prod-eu/etcd/k.db', size: 2048, sha256: 'a'.repeat(64), revision: 9 },
        pruned: { kept: 6, deleted: ['x'], skippedLocked: [] },
      },
      { notifier, metrics, clock: fixedClock() },
    );
    expect(metrics.records).toEqual([
      [
        { cluster: 'prod-eu', workflow: 'etcd-backup' },
        {
          Succeeded: { value: 1, unit: 'Count' },
          Failed: { value: 0, unit: 'Count' },
          Skipped: { value: 0, unit: 'Count' },
          DurationSeconds: { value: 60, unit: 'Seconds' },
          SnapshotBytes: { value: 2048, unit: 'Bytes' },
          SnapshotRevision: { value: 9, unit: 'None' },
        },
      ],
    ]);
    expect(notifier.messages[0]).toMatchObject({
      subject: '[Caretaker] etcd-backup succeeded: prod-eu',
      attributes: { cluster: 'prod-eu', workflow: 'etcd-backup', outcome: 'Succeeded' },
    });
    expect(notifier.messages[0]!.message).toMatch(/Snapshot: prod-eu\/etcd\/k.db \(2048 bytes, revision 9/);
    expect(notifier.messages[0]!.message).toMatch(/Retention: kept 6, deleted 1/);
  });

  it('explains a failure with the error message and that the lock was released', async () => {
    const notifier = recordingNotifier();
    await publishOutcome(
      {
        ...base,
        outcome: 'Failed',
        error: {
          Error: 'EtcdUnhealthyError',
          Cause: JSON.stringify({ errorMessage: 'no healthy etcd member: i-1: down' }),
        },
      },
      { notifier, metrics: recordingMetrics(), clock: fixedClock() },
    );
    expect(notifier.messages[0]!.message).toMatch(
      /Error: EtcdUnhealthyError\nno healthy etcd member: i-1: down/,
    );
    expect(notifier.messages[0]!.message).toMatch(/lock was released; no snapshot was pruned/);
  });

  it('says who holds the lock when the run was skipped', async () => {
    const notifier = recordingNotifier();
    await publishOutcome(
      {
        ...base,
        outcome: 'Skipped',
        heldBy: { owner: 'exec-0', operation: 'patch-workers', acquiredAt: 'a', expiresAt: 'b' },
      },
      { notifier, metrics: recordingMetrics(), clock: fixedClock() },
    );
    expect(notifier.messages[0]!.message).toMatch(
      /held by patch-workers \(exec-0\) until b. Nothing was touched/,
    );
  });
});

describe('startWorkflow', () => {
  const arn = 'arn:aws:states:eu-west-1:123456789012:stateMachine:EtcdBackup';

  it('starts under a name derived from the scheduled time', async () => {
    const starter = { start: jest.fn(async () => ({ executionArn: 'arn:exec', duplicate: false })) };
    const out = await startWorkflow(
      { cluster: 'prod-eu', workflow: 'etcd-backup', scheduledTime: '2026-11-25T06:00:00Z' },
      { clusters: staticDirectory(), starter, stateMachines: { 'etcd-backup': arn } },
    );
    expect(starter.start).toHaveBeenCalledWith(arn, 'etcd-backup-prod-eu-20261125T060000Z', {
      cluster: 'prod-eu',
    });
    expect(out).toEqual({
      executionArn: 'arn:exec',
      duplicate: false,
      name: 'etcd-backup-prod-eu-20261125T060000Z',
    });
  });

  it('rejects a workflow that is not deployed and an unknown cluster, starting nothing', async () => {
    const starter = { start: jest.fn() };
    const d = { clusters: staticDirectory(), starter, stateMachines: { 'etcd-backup': arn } };
    await expect(
      startWorkflow({ cluster: 'prod-eu', workflow: 'patch', scheduledTime: '2026-11-25T06:00:00Z' }, d),
    ).rejects.toThrow(/workflow: "patch" is not deployed here \(have: etcd-backup\)/);
    await expect(
      startWorkflow({ cluster: 'nope', workflow: 'etcd-backup', scheduledTime: '2026-11-25T06:00:00Z' }, d),
    ).rejects.toThrow(/cluster "nope" is not configured/);
    expect(starter.start).not.toHaveBeenCalled();
  });
});
