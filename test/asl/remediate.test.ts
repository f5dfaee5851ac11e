import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { claimAttempt } from '../../functions/claim-attempt/service';
import { input as planInput } from '../../functions/plan-remediation/handler';
import { planRemediation } from '../../functions/plan-remediation/service';
import { parseConfig } from '../../functions/shared/domain/config';
import { pickMember } from '../../functions/shared/domain/member-selection';
import { judgeAttempt, type AttemptRecord, type RouteName } from '../../functions/shared/domain/remediation';
import { CommandFailedError } from '../../functions/shared/errors';
import type { RemediationLedger } from '../../functions/shared/ports';
import { runWorkflow, type Fake, type Json } from '../../sandbox/asl-runner';
import { fixedClock, staticDirectory } from '../support/fakes';
import { InMemoryLock, OutcomeRecorder, obj } from './fakes';

const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'etcd-backup.json'), 'utf8')) as {
  instances: Json[];
  statuses: Record<string, Record<string, Json>>;
  snapshot: Record<string, Json>;
  upload: Json;
  pruned: Json;
};
const [LEADER, FOLLOWER_B, FOLLOWER_C] = [
  'i-0a1b2c3d4e5f60001',
  'i-0a1b2c3d4e5f60002',
  'i-0a1b2c3d4e5f60003',
] as const;
const CLUSTER = 'prod-eu';

function memoryLedger(): RemediationLedger & { records: Map<string, AttemptRecord> } {
  const records = new Map<string, AttemptRecord>();
  return {
    records,
    read: async (c, r, res) => records.get(`${c}#${r}#${res}`),
    claim: async (req) => {
      const key = `${req.cluster}#${req.route}#${req.resource}`;
      const verdict = judgeAttempt(records.get(key), req.now, req);
      if (verdict.allowed) {
        records.set(key, {
          lastAttemptAt: req.now.toISOString(),
          day: req.now.toISOString().slice(0, 10),
          attemptsToday: verdict.attempt,
        });
      }
      return verdict;
    },
  };
}

interface WorldOptions {
  remediation?: Record<string, unknown>;
  /** the member's status as etcd-status reports it; default every member healthy */
  status?: (instanceId: string, call: number) => Json;
  fakes?: Record<string, Fake>;
}

/** the cluster as the fakes see it: the real claim, lock and plan services over memory */
function world(options: WorldOptions = {}) {
  const lock = new InMemoryLock();
  const outcomes = new OutcomeRecorder();
  const ledger = memoryLedger();
  const clusters = staticDirectory(
    parseConfig({
      clusters: [
        { name: CLUSTER, kind: 'kubeadm', region: 'eu-west-1', remediation: options.remediation ?? {} },
      ],
    }).clusters,
  );
  const statusCalls = new Map<string, number>();
  const status = options.status ?? ((id: string) => fixture.statuses[id]!);
  const fakes: Record<string, Fake> = {
    'claim-attempt': async (payload) => {
      const p = obj(payload);
      const alarm = obj(p['alarm']!) as unknown as {
        route: RouteName;
        alarmName: string;
        instanceId?: string;
        dryRun?: boolean;
      };
      return (await claimAttempt(
        {
          cluster: String(p['cluster']),
          route: alarm.route,
          alarmName: alarm.alarmName,
          resource: alarm.instanceId,
          dryRun: alarm.dryRun,
        },
        { clusters, ledger, clock: fixedClock('2026-11-30T03:05:00Z') },
      )) as unknown as Json;
    },
    'acquire-lock': lock.acquire,
    'release-lock': lock.release,
    'find-control-plane': () => ({ instances: fixture.instances }),
    'plan-remediation': (payload) => {
      const i = planInput.parse(payload);
      return planRemediation(
        i.step === 'restart' ? { ...i, named: i.alarm?.instanceId ?? i.alarm?.member } : i,
      ) as unknown as Json;
    },
    'send-command': (payload) => {
      const { command, instanceId, args } = obj(payload);
      const id = String(instanceId);
      if (command === 'etcd-status') {
        const n = (statusCalls.get(id) ?? 0) + 1;
        statusCalls.set(id, n);
        return status(id, n);
      }
      if (command === 'etcd-maintenance') {
        const action = String(obj(args!)['action']);
        if (action === 'defrag')
          return {
            instanceId: id,
            action,
            memberId: '1',
            dbSizeBefore: 2e9,
            dbSizeAfter: 1e8,
            seconds: 3,
            clusterHealthy: true,
          };
        if (action === 'compact')
          return { instanceId: id, action, memberId: '1', revision: 48221, compacted: true };
        return {
          instanceId: id,
          action,
          memberId: '1',
          disarmed: true,
          reason: 'disarmed',
          largestDbSize: 1e8,
          alarmsBefore: ['NOSPACE'],
          alarmsAfter: [],
        };
      }
      if (command === 'etcd-restart-member')
        return {
          instanceId: id,
          restarted: true,
          method: 'systemctl restart etcd',
          healthy: true,
          reason: '',
        };
      if (command === 'etcd-snapshot') return { ...fixture.snapshot, instanceId: id };
      if (command === 'node-prune')
        return {
          instanceId: id,
          imagesPruned: true,
          journalVacuumed: true,
          freeBytesBefore: 1e9,
          freeBytesAfter: 4e9,
          bytesFreed: 3e9,
        };
      throw new Error(`unexpected command ${String(command)}`);
    },
    // the nested backup's own steps
    'pick-member': (payload) => pickMember(obj(payload)['statuses'] as never) as unknown as Json,
    'verify-upload': () => fixture.upload,
    'prune-snapshots': () => fixture.pruned,
    'publish-outcome': outcomes.publish,
    ...options.fakes,
  };
  const alarm = (route: RouteName, extra: Record<string, Json> = {}): Json => ({
    cluster: CLUSTER,
    route,
    alarmName: `caretaker.${CLUSTER}.${route}`,
    alarmTime: '2026-11-30T03:04:40Z',
    requestedBy: 'alarm',
    requestId: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
    ...extra,
  });
  return {
    lock,
    outcomes,
    ledger,
    fakes,
    run: (route: RouteName, extra?: Record<string, Json>) =>
      runWorkflow('remediate', alarm(route, extra), { fakes }),
  };
}

type Run = Awaited<ReturnType<typeof runWorkflow>>;

/** the node commands that change something, in the order they were sent */
function changes(run: Run): string[] {
  return run
    .inputsTo('send-command')
    .map(obj)
    .filter((p) => p['command'] !== 'etcd-status')
    .map(
      (p) =>
        `${String(p['command'])}${p['args'] ? `:${String(obj(p['args'])['action'])}` : ''}@${String(p['instanceId'])}`,
    );
}

const unhealthy = (id: string): Json => ({
  ...fixture.statuses[id]!,
  healthy: false,
  reason: 'etcd at https://127.0.0.1:2379 is unreachable',
});

describe('remediate workflow: etcd DB near its quota', () => {
  it('compacts, defragments the followers one at a time then the leader, disarms, releases the lock and reports', async () => {
    const w = world();
    const run = await w.run('etcd-db-size');

    expect(run.error).toBeUndefined();
    expect(run.status).toBe('SUCCEEDED');
    expect(changes(run)).toEqual([
      `etcd-maintenance:compact@${FOLLOWER_B}`,
      `etcd-maintenance:defrag@${FOLLOWER_B}`,
      `etcd-maintenance:defrag@${FOLLOWER_C}`,
      `etcd-maintenance:defrag@${LEADER}`,
      `etcd-maintenance:disarm@${FOLLOWER_B}`,
    ]);
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
    expect(run.inputsTo('acquire-lock')).toEqual([
      expect.objectContaining({ scopes: ['control-plane'], operation: 'remediate' }),
    ]);
    expect(w.outcomes.published).toEqual([
      expect.objectContaining({ outcome: 'Succeeded', workflow: 'remediate' }),
    ]);
  });

  it('never defragments two members at once: a failed health gate stops the members not yet done', async () => {
    let defrags = 0;
    const w = world();
    const base = w.fakes['send-command']!;
    w.fakes['send-command'] = (payload, info) => {
      const p = obj(payload);
      if (p['command'] === 'etcd-maintenance' && obj(p['args']!)['action'] === 'defrag' && ++defrags === 2) {
        throw new CommandFailedError('after defragmenting member 2 the cluster is not healthy');
      }
      return base(payload, info);
    };
    const run = await w.run('etcd-db-size');

    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe('CommandFailedError');
    expect(changes(run).filter((c) => c.includes('defrag'))).toEqual([
      `etcd-maintenance:defrag@${FOLLOWER_B}`,
      `etcd-maintenance:defrag@${FOLLOWER_C}`,
    ]);
    expect(changes(run)).not.toContain(`etcd-maintenance:defrag@${LEADER}`);
    expect(changes(run).some((c) => c.includes('disarm'))).toBe(false);
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
    expect(w.outcomes.published).toEqual([expect.objectContaining({ outcome: 'Failed' })]);
  });

  it('escalates without touching anything when a member is already unhealthy', async () => {
    const w = world({ status: (id) => (id === FOLLOWER_C ? unhealthy(id) : fixture.statuses[id]!) });
    const run = await w.run('etcd-db-size');

    expect(run.status).toBe('SUCCEEDED');
    expect(changes(run)).toEqual([]);
    expect(w.outcomes.published).toEqual([
      expect.objectContaining({
        outcome: 'Escalated',
        remediation: expect.objectContaining({ rule: 'every-member-healthy' }),
      }),
    ]);
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
  });

  it('in a dry run reports what it would do, changes nothing and counts no attempt', async () => {
    const w = world({ remediation: { dryRun: true } });
    const run = await w.run('etcd-db-size', { dryRun: true });

    expect(run.status).toBe('SUCCEEDED');
    expect(changes(run)).toEqual([]);
    expect(w.ledger.records.size).toBe(0);
    const [report] = w.outcomes.published;
    expect(obj(report!['remediation']!)).toMatchObject({
      dryRun: true,
      wouldDo: expect.arrayContaining([
        `defragment ${LEADER} (leader), then wait until every member answers`,
      ]),
    });
  });

  it('does nothing the second time inside the cooldown, and escalates naming the rule', async () => {
    const w = world();
    await w.run('etcd-db-size');
    const second = await w.run('etcd-db-size');

    expect(second.status).toBe('SUCCEEDED');
    expect(second.callsTo('acquire-lock')).toHaveLength(0);
    expect(changes(second)).toEqual([]);
    expect(w.outcomes.published[1]).toMatchObject({
      outcome: 'Escalated',
      remediation: { rule: 'cooldown' },
    });
  });

  it('escalates naming max-attempts-per-day once the attempts are used up', async () => {
    const w = world({
      remediation: { routes: { 'etcd-db-size': { cooldownMinutes: 0, maxAttemptsPerDay: 1 } } },
    });
    await w.run('etcd-db-size');
    const second = await w.run('etcd-db-size');

    expect(changes(second)).toEqual([]);
    expect(w.outcomes.published[1]).toMatchObject({
      outcome: 'Escalated',
      remediation: { rule: 'max-attempts-per-day' },
    });
  });

  it('does nothing while another operation holds the lock', async () => {
    const w = world();
    w.lock.hold(CLUSTER, {
      owner: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-etcd-backup:hourly',
      operation: 'etcd-backup',
      acquiredAt: '2026-11-30T03:00:00.000Z',
      expiresAt: '2026-11-30T05:00:00.000Z',
    });
    const run = await w.run('etcd-db-size');

    expect(run.status).toBe('SUCCEEDED');
    expect(run.callsTo('send-command')).toHaveLength(0);
    expect(w.outcomes.published).toEqual([
      expect.objectContaining({
        outcome: 'Skipped',
        heldBy: expect.objectContaining({ operation: 'etcd-backup' }),
      }),
    ]);
    expect(w.lock.holder(CLUSTER)?.operation).toBe('etcd-backup');
  });
});

describe('remediate workflow: etcd member unhealthy', () => {
  it('restarts the unhealthy member while the others hold quorum, and reports it healthy again', async () => {
    const w = world({
      status: (id, call) => (id === FOLLOWER_C && call === 1 ? unhealthy(id) : fixture.statuses[id]!),
    });
    const run = await w.run('etcd-member-unhealthy');

    expect(run.status).toBe('SUCCEEDED');
    expect(changes(run)).toEqual([`etcd-restart-member@${FOLLOWER_C}`]);
    expect(w.outcomes.published).toEqual([expect.objectContaining({ outcome: 'Succeeded' })]);
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
  });

  it('escalates with the member-replacement runbook when the member stays unhealthy (never replaces it)', async () => {
    const w = world({ status: (id) => (id === FOLLOWER_C ? unhealthy(id) : fixture.statuses[id]!) });
    const run = await w.run('etcd-member-unhealthy');

    expect(changes(run)).toEqual([`etcd-restart-member@${FOLLOWER_C}`]);
    const [report] = w.outcomes.published;
    expect(report).toMatchObject({ outcome: 'Escalated', remediation: { rule: 'member-stays-unhealthy' } });
    expect(String(obj(report!['remediation']!)['message'])).toMatch(/replacing-an-etcd-member-by-hand/);
  });

  it('refuses by the quorum rule when the others do not hold quorum', async () => {
    const w = world({ status: (id) => (id === LEADER ? fixture.statuses[id]! : unhealthy(id)) });
    const run = await w.run('etcd-member-unhealthy', { instanceId: FOLLOWER_C });

    expect(changes(run)).toEqual([]);
    expect(w.outcomes.published).toEqual([
      expect.objectContaining({
        outcome: 'Escalated',
        remediation: expect.objectContaining({ rule: 'quorum' }),
      }),
    ]);
  });

  it('does nothing when every member is healthy again by the time it looks', async () => {
    const w = world();
    const run = await w.run('etcd-member-unhealthy');

    expect(run.status).toBe('SUCCEEDED');
    expect(changes(run)).toEqual([]);
    expect(w.outcomes.published).toEqual([expect.objectContaining({ outcome: 'Succeeded' })]);
  });
});

describe('remediate workflow: no backup within the interval', () => {
  it('runs the backup now as a nested execution under its own lease', async () => {
    const w = world();
    const run = await w.run('stale-backup');

    expect(run.status).toBe('SUCCEEDED');
    expect(run.children.map((c) => [c.workflow, c.status])).toEqual([['etcd-backup', 'SUCCEEDED']]);
    expect(run.children[0]!.callsTo('send-command').map((c) => obj(c.input)['command'])).toContain(
      'etcd-snapshot',
    );
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
  });
});

describe('remediate workflow: routes without a runbook here yet', () => {
  it('node-notready escalates and changes nothing', async () => {
    const w = world();
    const run = await w.run('node-notready');

    expect(run.status).toBe('SUCCEEDED');
    expect(run.callsTo('send-command')).toHaveLength(0);
    expect(run.inputsTo('acquire-lock')).toEqual([expect.objectContaining({ scopes: ['workers'] })]);
    expect(w.outcomes.published).toEqual([
      expect.objectContaining({
        outcome: 'Escalated',
        remediation: expect.objectContaining({ rule: 'no-runbook' }),
      }),
    ]);
  });
});

describe('remediate workflow: disk pressure on a node', () => {
  const NODE = 'i-0beef00000000001';

  it("prunes images and vacuums the journal on the alarm's node only, under the workers lock", async () => {
    const w = world();
    const run = await w.run('disk-pressure', { instanceId: NODE });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.inputsTo('acquire-lock')).toEqual([expect.objectContaining({ scopes: ['workers'] })]);
    expect(changes(run)).toEqual([`node-prune@${NODE}`]);
    expect(obj(run.output!)['prune']).toMatchObject({ bytesFreed: 3e9 });
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
    expect(w.outcomes.published).toEqual([expect.objectContaining({ outcome: 'Succeeded' })]);
  });

  it('a dry run says what it would run and sends nothing', async () => {
    const w = world({ remediation: { dryRun: true } });
    const run = await w.run('disk-pressure', { instanceId: NODE });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.callsTo('send-command')).toHaveLength(0);
    expect(w.outcomes.published).toEqual([
      expect.objectContaining({
        outcome: 'Succeeded',
        remediation: expect.objectContaining({
          dryRun: true,
          wouldDo: [`run node-prune on ${NODE}: crictl rmi --prune, journalctl --vacuum-size=500M`],
        }),
      }),
    ]);
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
  });

  it('escalates (no-node) and cleans nothing when the alarm names no instance', async () => {
    const w = world();
    const run = await w.run('disk-pressure');

    expect(run.status).toBe('SUCCEEDED');
    expect(run.callsTo('send-command')).toHaveLength(0);
    expect(w.outcomes.published).toEqual([
      expect.objectContaining({
        outcome: 'Escalated',
        remediation: expect.objectContaining({ rule: 'no-node' }),
      }),
    ]);
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
  });

  it('a failed prune fails the run after releasing the lock', async () => {
    const w = world({
      fakes: {
        'send-command': () => {
          throw Object.assign(new Error('crictl rmi --prune failed: permission denied'), {
            name: 'CommandFailedError',
          });
        },
      },
    });
    const run = await w.run('disk-pressure', { instanceId: NODE });

    expect(run.status).toBe('FAILED');
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
    expect(w.outcomes.published).toEqual([expect.objectContaining({ outcome: 'Failed' })]);
  });
});
