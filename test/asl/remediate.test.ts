import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { claimAttempt } from '../../functions/claim-attempt/service';
import { input as planInput } from '../../functions/plan-remediation/handler';
import { planRemediation } from '../../functions/plan-remediation/service';
import { parseConfig } from '../../functions/shared/domain/config';
import { pickMember } from '../../functions/shared/domain/member-selection';
import {
  judgeAttempt,
  summarizeNodeOutcomes,
  type AttemptRecord,
  type NodeView,
  type RouteName,
} from '../../functions/shared/domain/remediation';
import { planNodes } from '../../functions/plan-node-remediation/service';
import { recoverNode } from '../../functions/recover-node/service';
import { CommandFailedError } from '../../functions/shared/errors';
import type { RemediationLedger } from '../../functions/shared/ports';
import { runWorkflow, type Fake, type Json } from '../../sandbox/asl-runner';
import { fixedClock, memoryStore, staticDirectory } from '../support/fakes';
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
const EXECUTION_NAME = 'remediate-prod-eu-20261130T030440Z-c4c1c1c9-6542-e61b-6ef0-8c4d36933a92';

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
      if (i.step === 'node-outcomes') return summarizeNodeOutcomes(i.outcomes) as unknown as Json;
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
    // node-notready's own: nodeWorld below plays them; any other route must not reach them
    'plan-node-remediation': () => {
      throw new Error('plan-node-remediation called outside node-notready');
    },
    'recover-node': () => {
      throw new Error('recover-node called outside node-notready');
    },
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
    clusters,
    run: (route: RouteName, extra?: Record<string, Json>) =>
      // named as route-alarm names it: remediate-<cluster>-<time>-<event id>
      runWorkflow('remediate', alarm(route, extra), { fakes, executionName: EXECUTION_NAME }),
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

describe('remediate workflow: a worker NotReady', () => {
  /** a Node as node-inventory reports it, as much as the plan reads */
  type SimNode = NodeView;
  const worker = (i: number, ready = true): SimNode => ({
    name: `worker-${i}`,
    instanceId: `i-0feed0000000000${i}`,
    ready,
    unschedulable: false,
    bootID: `boot-${i}-a`,
    labels: { 'kubernetes.io/os': 'linux' },
  });
  const controlPlane = (i: number): SimNode => ({
    ...worker(i),
    name: `control-plane-${i}`,
    instanceId: `i-0c0de0000000000${i}`,
    labels: { 'node-role.kubernetes.io/control-plane': '' },
  });

  /**
   * the cluster's Nodes in memory: node-inventory lists them into S3, node-status reads them,
   * node-cordon and node-drain change them, the NodeReplacer reboots (`rebootHelps`: Ready with a
   * new boot id) or replaces through a group (`group`: the node goes and a new one joins); the
   * real plan-node-remediation, recover-node and summary services decide
   */
  function nodeWorld(
    options: {
      nodes?: SimNode[];
      rebootHelps?: boolean;
      group?: string;
      drainFails?: boolean;
      remediation?: Record<string, unknown>;
    } = {},
  ) {
    const nodes = new Map(
      (options.nodes ?? [controlPlane(1), worker(1, false), worker(2), worker(3), worker(4)]).map((n) => [
        n.name,
        { ...n },
      ]),
    );
    const log: string[] = [];
    const store = memoryStore();
    const byInstance = (id: string) => [...nodes.values()].find((n) => n.instanceId === id);
    const w = world({ remediation: { readyTimeoutMinutes: 1, ...options.remediation } });
    w.fakes['send-command'] = async (payload): Promise<Json> => {
      const { command, args } = obj(payload);
      const a = obj(args!);
      const n = nodes.get(String(a['node']));
      switch (command) {
        case 'node-inventory': {
          const list = [...nodes.values()].map((x) => ({
            name: x.name,
            providerID: `aws:///eu-west-1a/${x.instanceId}`,
            instanceId: x.instanceId,
            availabilityZone: 'eu-west-1a',
            labels: x.labels,
            annotations: x.cordonedBy ? { 'caretaker.io/cordoned-by': x.cordonedBy } : {},
            unschedulable: x.unschedulable,
            ...(x.cordonedBy ? { cordonedBy: x.cordonedBy } : {}),
            ready: x.ready,
            bootID: x.bootID,
            kubeletVersion: 'v1.37.2',
            heldByPods: [],
          }));
          await store.putJson(String(a['key']), list);
          return { key: String(a['key']), nodes: list.length };
        }
        case 'node-status':
          log.push(`status ${String(a['node'])}`);
          return {
            node: String(a['node']),
            exists: n !== undefined,
            ready: n?.ready ?? false,
            unschedulable: n?.unschedulable ?? false,
            bootID: n?.bootID ?? '',
            kubeletVersion: 'v1.37.2',
            daemonSetPodsReady: true,
            daemonSetPodsNotReady: [],
          };
        case 'node-cordon':
          log.push(`cordon ${n!.name} by ${String(a['owner'])}`);
          n!.unschedulable = true;
          n!.cordonedBy = String(a['owner']);
          return { node: n!.name, unschedulable: true, cordonedBy: n!.cordonedBy, changed: true };
        case 'node-drain':
          log.push(
            `drain ${n!.name} timeout ${String(a['timeoutSeconds'])} disableEviction ${String(a['disableEviction'])}`,
          );
          if (options.drainFails) throw new CommandFailedError('kubectl drain: the server could not evict');
          return {
            node: n!.name,
            drained: false,
            evicted: ['shop/web-1'],
            blockedBy: [{ pod: 'shop/db-0', reason: 'Terminating on a NotReady node' }],
          };
        default:
          throw new Error(`unexpected command ${String(command)}`);
      }
    };
    w.fakes['plan-node-remediation'] = async (payload) => {
      const p = obj(payload);
      const alarm = obj(p['alarm']!);
      return (await planNodes(
        {
          cluster: String(p['cluster']),
          key: String(p['key']),
          ...(alarm['node'] !== undefined && { node: String(alarm['node']) }),
          ...(alarm['instanceId'] !== undefined && { instanceId: String(alarm['instanceId']) }),
        },
        { clusters: w.clusters, store },
      )) as unknown as Json;
    };
    w.fakes['recover-node'] = async (payload) => {
      const p = obj(payload);
      return (await recoverNode(
        {
          cluster: String(p['cluster']),
          instanceId: String(p['instanceId']),
          action: p['action'] === 'reboot' ? 'reboot' : 'replace',
        },
        {
          replacer: {
            reboot: async (cluster, id) => {
              log.push(`reboot ${id} of ${cluster}`);
              const n = byInstance(id)!;
              if (options.rebootHelps) Object.assign(n, { ready: true, bootID: `${n.bootID}-rebooted` });
            },
            replace: async (cluster, id) => {
              log.push(`replace ${id} of ${cluster}`);
              if (!options.group) return { replaced: false };
              nodes.delete(byInstance(id)!.name);
              nodes.set('worker-new', { ...worker(9), name: 'worker-new' });
              return { replaced: true, group: options.group };
            },
          },
        },
      )) as unknown as Json;
    };
    return { ...w, nodes, log };
  }
  const NODE = 'worker-1';
  const INSTANCE = 'i-0feed00000000001';

  it('reboots the NotReady worker through EC2 and reports it Ready again with a new boot id, under the workers lock', async () => {
    const w = nodeWorld({ rebootHelps: true });
    const run = await w.run('node-notready', { node: NODE });

    expect(run.error).toBeUndefined();
    expect(run.status).toBe('SUCCEEDED');
    expect(run.inputsTo('acquire-lock')).toEqual([expect.objectContaining({ scopes: ['workers'] })]);
    expect(w.log).toEqual([`reboot ${INSTANCE} of ${CLUSTER}`, `status ${NODE}`]);
    expect(w.nodes.get(NODE)).toMatchObject({ ready: true, unschedulable: false });
    expect(w.lock.holder(CLUSTER, 'workers')).toBeUndefined();
    expect(w.outcomes.published).toEqual([
      expect.objectContaining({
        outcome: 'Succeeded',
        remediation: expect.objectContaining({
          message: `${NODE} (${INSTANCE}) is Ready again after its reboot`,
        }),
      }),
    ]);
  });

  it('keeps looking until the deadline: Ready with the old boot id is not back', async () => {
    const w = nodeWorld({ group: 'workers-eu-west-1a' });
    // Ready but never rebooted (the same boot id): an old status, not the reboot's work
    const base = w.fakes['send-command']!;
    w.fakes['send-command'] = async (payload, info) => {
      const p = obj(payload);
      if (p['command'] === 'node-status') {
        const r = obj((await base(payload, info)) as Json);
        return { ...r, ready: true };
      }
      return base(payload, info);
    };
    const run = await w.run('node-notready', { node: NODE });

    expect(run.status).toBe('SUCCEEDED');
    // readyTimeoutMinutes 1, a look every 15 s: four looks, then the replacement
    expect(w.log.filter((l) => l.startsWith('status'))).toHaveLength(4);
    expect(w.log).toContain(`replace ${INSTANCE} of ${CLUSTER}`);
  });

  it('when the reboot does not help: cordons, drains what can be drained (patching policy) and replaces it through its Auto Scaling group', async () => {
    const w = nodeWorld({ group: 'workers-eu-west-1a' });
    const run = await w.run('node-notready', { instanceId: INSTANCE });

    expect(run.status).toBe('SUCCEEDED');
    const owner = EXECUTION_NAME;
    expect(owner).toMatch(/^remediate-/);
    expect(w.log).toEqual([
      `reboot ${INSTANCE} of ${CLUSTER}`,
      `status ${NODE}`,
      `status ${NODE}`,
      `status ${NODE}`,
      `status ${NODE}`,
      `cordon ${NODE} by ${owner}`,
      `drain ${NODE} timeout 120 disableEviction false`,
      `replace ${INSTANCE} of ${CLUSTER}`,
    ]);
    expect(w.nodes.has(NODE)).toBe(false);
    expect(w.nodes.has('worker-new')).toBe(true);
    // kubectl about a dead node: never with the node as subject (send-command wants a subject SSM
    // reaches); each node's intent apart by its name in the execution id
    const about = run
      .inputsTo('send-command')
      .map(obj)
      .filter((p) => p['command'] !== 'node-inventory');
    for (const p of about) {
      expect(p['subject']).toBeUndefined();
      expect(String(p['executionId'])).toContain(`/${NODE}`);
    }
    expect(w.lock.holder(CLUSTER, 'workers')).toBeUndefined();
    const [report] = w.outcomes.published;
    expect(report).toMatchObject({ outcome: 'Succeeded' });
    expect(String(obj(report!['remediation']!)['message'])).toBe(
      `${NODE} (${INSTANCE}) stayed NotReady: drained as far as it could be and terminated in workers-eu-west-1a, which launches its replacement`,
    );
  });

  it('a failing drain does not stop the replacement of a dead node', async () => {
    const w = nodeWorld({ group: 'workers-eu-west-1a', drainFails: true });
    const run = await w.run('node-notready', { node: NODE });

    expect(run.status).toBe('SUCCEEDED');
    expect(w.log.slice(-2)).toEqual([
      `drain ${NODE} timeout 120 disableEviction false`,
      `replace ${INSTANCE} of ${CLUSTER}`,
    ]);
    expect(w.outcomes.published).toEqual([expect.objectContaining({ outcome: 'Succeeded' })]);
  });

  it('without an Auto Scaling group: leaves the node cordoned and escalates naming it and the rule', async () => {
    const w = nodeWorld();
    const run = await w.run('node-notready', { node: NODE });

    expect(run.status).toBe('SUCCEEDED');
    expect(w.log).toContain(`replace ${INSTANCE} of ${CLUSTER}`);
    expect(w.nodes.get(NODE)).toMatchObject({
      unschedulable: true,
      cordonedBy: EXECUTION_NAME,
    });
    expect(w.lock.holder(CLUSTER, 'workers')).toBeUndefined();
    const [report] = w.outcomes.published;
    expect(report).toMatchObject({ outcome: 'Escalated', remediation: { rule: 'no-auto-scaling-group' } });
    expect(String(obj(report!['remediation']!)['message'])).toMatch(
      new RegExp(`^no-auto-scaling-group: ${NODE} left cordoned; .*replace it by hand`),
    );
  });

  it('takes no action at all when more than maxUnhealthyPercent of the Nodes is NotReady, and names the rule', async () => {
    const w = nodeWorld({ nodes: [controlPlane(1), worker(1, false), worker(2, false), worker(3)] });
    const run = await w.run('node-notready', { node: NODE });

    expect(run.status).toBe('SUCCEEDED');
    expect(w.log).toEqual([]);
    expect(run.callsTo('recover-node')).toHaveLength(0);
    const [report] = w.outcomes.published;
    expect(report).toMatchObject({ outcome: 'Escalated', remediation: { rule: 'unhealthy-share' } });
    expect(String(obj(report!['remediation']!)['message'])).toMatch(
      /2 of 4 nodes \(50%\) are NotReady, more than maxUnhealthyPercent 30; that is an outage for a person/,
    );
    expect(w.lock.holder(CLUSTER, 'workers')).toBeUndefined();
  });

  it('acts on no more than maxNodesAtOnce: a node an earlier run left cordoned counts, so nothing is done', async () => {
    const left = {
      ...worker(2, false),
      unschedulable: true,
      cordonedBy: 'remediate-prod-eu-20261130T010000Z-x',
    };
    const w = nodeWorld({
      nodes: [controlPlane(1), worker(1, false), left, worker(3), worker(4), worker(5), worker(6), worker(7)],
    });
    const run = await w.run('node-notready', { node: NODE });

    expect(run.callsTo('recover-node')).toHaveLength(0);
    expect(w.log).toEqual([]);
    const [report] = w.outcomes.published;
    expect(report).toMatchObject({ outcome: 'Escalated', remediation: { rule: 'max-nodes-at-once' } });
    expect(String(obj(report!['remediation']!)['message'])).toMatch(
      /worker-2 \(cordoned by remediate-prod-eu-/,
    );
  });

  it('an alarm naming no node acts on at most maxNodesAtOnce of the NotReady workers', async () => {
    const w = nodeWorld({
      rebootHelps: true,
      remediation: { maxNodesAtOnce: 2 },
      nodes: [
        controlPlane(1),
        worker(1, false),
        worker(2, false),
        worker(3, false),
        ...[4, 5, 6, 7, 8, 9].map((i) => worker(i)),
      ],
    });
    const run = await w.run('node-notready');

    expect(run.status).toBe('SUCCEEDED');
    expect(run.inputsTo('recover-node').map((p) => obj(p)['instanceId'])).toEqual([
      'i-0feed00000000001',
      'i-0feed00000000002',
    ]);
    expect(w.nodes.get('worker-3')).toMatchObject({ ready: false });
  });

  it('a dry run lists the node it would reboot and replace, and changes nothing', async () => {
    const w = nodeWorld({ remediation: { dryRun: true } });
    const run = await w.run('node-notready', { node: NODE, dryRun: true });

    expect(run.status).toBe('SUCCEEDED');
    expect(w.log).toEqual([]);
    expect(run.callsTo('recover-node')).toHaveLength(0);
    expect(w.ledger.records.size).toBe(0);
    const [report] = w.outcomes.published;
    expect(obj(report!['remediation']!)).toMatchObject({
      dryRun: true,
      wouldDo: [expect.stringMatching(new RegExp(`^reboot ${INSTANCE} \\(${NODE}\\) through EC2`))],
    });
  });

  it('does nothing while another operation holds the workers lock', async () => {
    const w = nodeWorld({ rebootHelps: true });
    w.lock.hold(
      CLUSTER,
      {
        owner: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-patch-workers:sunday',
        operation: 'patch-workers',
        acquiredAt: '2026-11-30T03:00:00.000Z',
        expiresAt: '2026-11-30T05:00:00.000Z',
      },
      ['workers'],
    );
    const run = await w.run('node-notready', { node: NODE });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.callsTo('send-command')).toHaveLength(0);
    expect(run.callsTo('recover-node')).toHaveLength(0);
    expect(w.outcomes.published).toEqual([
      expect.objectContaining({
        outcome: 'Skipped',
        heldBy: expect.objectContaining({ operation: 'patch-workers' }),
      }),
    ]);
  });

  it('refuses a control-plane node (control-plane-node) and a node that is not there (unknown-node)', async () => {
    const cp = nodeWorld();
    await cp.run('node-notready', { node: 'control-plane-1' });
    const gone = nodeWorld();
    await gone.run('node-notready', { node: 'worker-99' });

    expect(cp.log).toEqual([]);
    expect(cp.outcomes.published[0]).toMatchObject({
      outcome: 'Escalated',
      remediation: { rule: 'control-plane-node' },
    });
    expect(gone.log).toEqual([]);
    expect(gone.outcomes.published[0]).toMatchObject({
      outcome: 'Escalated',
      remediation: { rule: 'unknown-node' },
    });
  });

  it('does nothing when the node is Ready again by the time it looks', async () => {
    const w = nodeWorld();
    w.nodes.get(NODE)!.ready = true;
    const run = await w.run('node-notready', { node: NODE });

    expect(run.status).toBe('SUCCEEDED');
    expect(w.log).toEqual([]);
    expect(w.outcomes.published).toEqual([expect.objectContaining({ outcome: 'Succeeded' })]);
  });

  it('a refused reboot fails the run after releasing the lock, with nothing cordoned', async () => {
    const w = nodeWorld();
    w.fakes['recover-node'] = () => {
      throw Object.assign(new Error(`instanceId: ${INSTANCE} does not carry caretaker:cluster=${CLUSTER}`), {
        name: 'InvalidInputError',
      });
    };
    const run = await w.run('node-notready', { node: NODE });

    expect(run.status).toBe('FAILED');
    expect(w.nodes.get(NODE)).toMatchObject({ unschedulable: false });
    expect(w.lock.holder(CLUSTER, 'workers')).toBeUndefined();
    expect(w.outcomes.published).toEqual([expect.objectContaining({ outcome: 'Failed' })]);
  });
});
