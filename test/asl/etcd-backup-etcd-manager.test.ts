/**
 * etcd-backup on kops with backup.source etcd-manager: etcd-manager already backs the cluster up,
 * so a scheduled or manual run takes no snapshot and its outcome says so; a run nested in a parent
 * workflow (an upgrade's preflight) still takes its own fresh snapshot.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, runWorkflow, type Fake, type Json } from '../../sandbox/asl-runner';
import { CommandFailedError } from '../../functions/shared/errors';
import { InMemoryLock, OutcomeRecorder, obj } from './fakes';

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
const EVENTS_KEY = `${CLUSTER}/etcd/events/2026/11/25/20261125T060012Z-r99.db`;
const UPGRADING = {
  owner: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-upgrade-control-plane:v1-35',
  operation: 'upgrade-control-plane',
  acquiredAt: '2026-11-25T05:45:00.000Z',
  expiresAt: '2026-11-25T09:45:00.000Z',
};

function world(backupSource: 'caretaker' | 'etcd-manager', backupEvents?: boolean) {
  const lock = new InMemoryLock();
  const outcomes = new OutcomeRecorder();
  const fakes: Record<string, Fake> = {
    'acquire-lock': lock.acquire,
    'release-lock': lock.release,
    'find-control-plane': () => ({
      instances: fixture.instances,
      backupSource,
      ...(backupEvents !== undefined ? { backupEvents } : {}),
    }),
    'send-command': (payload) => {
      const { command, instanceId, args } = obj(payload);
      if (command === 'etcd-status') return fixture.statuses[String(instanceId)]!;
      const events = obj(args ?? {})['series'] === 'events';
      return {
        ...fixture.snapshot,
        instanceId: String(instanceId),
        ...(events ? { key: EVENTS_KEY, manifestKey: EVENTS_KEY.replace(/\.db$/, '.json') } : {}),
      };
    },
    'pick-member': (payload) => {
      const statuses = obj(payload)['statuses'] as Json[];
      return { ...obj(statuses[1]!), instanceId: obj(statuses[1]!)['instanceId'] ?? null } as Json;
    },
    'verify-upload': () => fixture.upload,
    'prune-snapshots': () => fixture.pruned,
    'publish-outcome': outcomes.publish,
  };
  return { lock, outcomes, fakes };
}

describe('etcd-backup workflow with backup.source etcd-manager', () => {
  it('takes no snapshot, releases the lock and reports Skipped saying etcd-manager takes the backups', async () => {
    const w = world('etcd-manager');
    const forbidden =
      (name: string): Fake =>
      () => {
        throw new Error(`${name} must not run when etcd-manager takes the backups`);
      };
    w.fakes['send-command'] = forbidden('send-command');
    w.fakes['pick-member'] = forbidden('pick-member');
    w.fakes['prune-snapshots'] = forbidden('prune-snapshots');

    const run = await runWorkflow('etcd-backup', input, { fakes: w.fakes });

    expect(run.error).toBeUndefined();
    expect(run.status).toBe('SUCCEEDED');
    expect(run.states).toEqual([
      'Is this backup part of a parent workflow?',
      "Take the cluster's control-plane lock",
      'Did we get the lock?',
      'Find the control-plane instances',
      "Does etcd-manager take this cluster's backups?",
      'Release the lock: etcd-manager takes the backups',
      "Report that etcd-manager takes this cluster's backups",
      'Leave the backups to etcd-manager',
    ]);
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
    expect(w.outcomes.published).toEqual([
      {
        cluster: CLUSTER,
        workflow: 'etcd-backup',
        outcome: 'Skipped',
        executionId: run.executionId,
        startedAt: expect.any(String),
        note: expect.stringContaining("etcd-manager takes this cluster's backups into the kops state store"),
      },
    ]);
  });

  it("still snapshots as a nested execution: a parent's preflight needs a fresh snapshot", async () => {
    const w = world('etcd-manager');
    w.lock.hold(CLUSTER, UPGRADING);

    const run = await runWorkflow(
      'etcd-backup',
      { ...input, parentOwner: UPGRADING.owner },
      { fakes: w.fakes },
    );

    expect(run.status).toBe('SUCCEEDED');
    expect(run.states).toContain('Take the snapshot on the picked member');
    expect(run.states).not.toContain('Leave the backups to etcd-manager');
  });

  it('snapshots as before when the source is caretaker', async () => {
    const w = world('caretaker');

    const run = await runWorkflow('etcd-backup', input, { fakes: w.fakes });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.states).toContain('Take the snapshot on the picked member');
  });
});

describe('etcd-backup workflow with the events etcd as a second series (kops, etcd.events, source caretaker)', () => {
  it('snapshots the main member, then the events member of the same node under the same lock, verifies both, prunes once', async () => {
    const w = world('caretaker', true);
    w.fakes['verify-upload'] = (p) => ({
      ...obj(fixture.upload),
      key: obj(obj(p)['snapshot'] ?? {})['key'] ?? null,
    });
    const lockCalls: Json[] = [];
    const acquire = w.fakes['acquire-lock']!;
    w.fakes['acquire-lock'] = (p, ...rest) => {
      lockCalls.push(p);
      return acquire(p, ...rest);
    };

    const run = await runWorkflow('etcd-backup', input, { fakes: w.fakes });

    expect(run.error).toBeUndefined();
    expect(run.status).toBe('SUCCEEDED');
    const at = run.states.indexOf('Verify the uploaded snapshot');
    expect(run.states.slice(at, at + 5)).toEqual([
      'Verify the uploaded snapshot',
      'Does this cluster back up its events etcd too?',
      'Take the events snapshot on the same member',
      'Verify the uploaded events snapshot',
      'Make sure the lease is still ours before pruning',
    ]);
    const snapshots = run.inputsTo('send-command').filter((p) => obj(p)['command'] === 'etcd-snapshot');
    expect(snapshots.map((p) => obj(p)['args'] ?? null)).toEqual([null, { series: 'events' }]);
    // the same node: its etcd-manager-events pod sits beside the picked main member
    expect(new Set(snapshots.map((p) => obj(p)['instanceId'])).size).toBe(1);
    const verified = run.inputsTo('verify-upload').map((p) => obj(obj(p)['snapshot'] ?? {})['key']);
    expect(verified).toEqual([fixture.snapshot['key'], EVENTS_KEY]);
    expect(run.inputsTo('prune-snapshots')).toHaveLength(1);
    // one lock for both series: taken once, renewed once before pruning, released at the end
    expect(lockCalls.map((p) => obj(p)['renew'] ?? false)).toEqual([false, true]);
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
    // the outcome names both snapshots: the events one rides along with main's
    expect(w.outcomes.published.at(-1)).toMatchObject({
      outcome: 'Succeeded',
      snapshot: { key: fixture.snapshot['key'], events: { key: EVENTS_KEY } },
    });
  });

  it('takes no events snapshot when find-control-plane says the events etcd is not backed up', async () => {
    const w = world('caretaker', false);

    const run = await runWorkflow('etcd-backup', input, { fakes: w.fakes });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.states).toContain('Does this cluster back up its events etcd too?');
    expect(run.states).not.toContain('Take the events snapshot on the same member');
  });

  it('fails, unlocks and prunes nothing when the events snapshot fails after the main one', async () => {
    const w = world('caretaker', true);
    const send = w.fakes['send-command']!;
    w.fakes['send-command'] = (p, ...rest) => {
      if (obj(obj(p)['args'] ?? {})['series'] === 'events') {
        throw new CommandFailedError('refusing to upload: the snapshot holds no /registry/events/ key');
      }
      return send(p, ...rest);
    };

    const run = await runWorkflow('etcd-backup', input, { fakes: w.fakes });

    expect(run.status).toBe('FAILED');
    expect(run.states).toContain('Take the events snapshot on the same member');
    expect(run.states).toContain('Release the lock after the failure');
    expect(run.inputsTo('prune-snapshots')).toHaveLength(0);
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
  });
});
