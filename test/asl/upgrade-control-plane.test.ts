import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { checkTargets } from '../../functions/check-targets/service';
import { deregisterTargets } from '../../functions/deregister-targets/service';
import { planUpgrade } from '../../functions/plan-upgrade/service';
import { registerTargets } from '../../functions/register-targets/service';
import { parseConfig } from '../../functions/shared/domain/config';
import {
  pickMember,
  type MemberFailure,
  type MemberStatus,
} from '../../functions/shared/domain/member-selection';
import { judgeGateCheck, GATE_MAX_CHECKS } from '../../functions/shared/domain/upgrade-gates';
import { ApprovalDeniedError, CommandFailedError } from '../../functions/shared/errors';
import { LocalTargetGroups, type TimelineEvent } from '../../sandbox/elbv2-target-groups';
import { runWorkflow, type Fake, type Json, type JsonObject } from '../../sandbox/asl-runner';
import { staticDirectory } from '../support/fakes';
import { InMemoryLock, OutcomeRecorder, never, obj } from './fakes';

// the real ASL with every Task faked: seconds each on a loaded machine
jest.setTimeout(60_000);

const backup = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'etcd-backup.json'), 'utf8')) as {
  instances: { instanceId: string; name: string; privateIp: string }[];
  snapshot: JsonObject;
  upload: Json;
  pruned: Json;
};
const CLUSTER = 'prod-eu';
const TG = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/prod-eu-api/0123456789abcdef';
const FROM = 'v1.36.4';
const TO = 'v1.37.2';
// the fixture's members: a leads etcd, b and c follow; Node names are the instances' names
const [A, B, C] = backup.instances.map((i) => i.instanceId) as [string, string, string];
const NAME: Record<string, string> = Object.fromEntries(backup.instances.map((i) => [i.instanceId, i.name]));

const [cluster] = parseConfig({
  clusters: [
    {
      name: CLUSTER,
      kind: 'kubeadm',
      region: 'eu-west-1',
      controlPlane: { targetGroupArns: [TG] },
      // the workers' kubelets (a nested patch-workers run): test/asl/upgrade-control-plane-workers.test.ts
      upgrade: { blockerAlarms: ['prod-eu-apiserver-5xx'], workers: false },
    },
  ],
}).clusters;

/** a stand-in API server port: the target groups' health check connects to it */
let apiServer: Server;
let apiPort: number;
beforeAll(async () => {
  apiServer = createServer((s) => s.end());
  await new Promise<void>((resolve) => apiServer.listen(0, '127.0.0.1', resolve));
  apiPort = (apiServer.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => apiServer.close(() => resolve()));
});

interface WorldOptions {
  /** the etcd leader at the start */
  leader?: string;
  unhealthy?: string;
  alarm?: boolean;
  version?: string;
  /** the nested backup's snapshot fails */
  backupFails?: boolean;
  approval?: 'approve' | 'deny' | 'never';
  /** after this node's upgrade its kubelet keeps the old version: its gate never passes */
  gateNeverPassesOn?: string;
  /** before this node's turn, an election makes it the etcd leader */
  electionBefore?: string;
}

/**
 * The cluster as the fakes see it: etcd (leader, health), the nodes (versions, cordons), and the
 * API load balancer through the sandbox's ELBv2 stand-in, with one timeline of who went out of
 * service and when each node was upgraded.
 */
function world(options: WorldOptions = {}) {
  const lock = new InMemoryLock();
  const outcomes = new OutcomeRecorder();
  const timeline: TimelineEvent[] = [];
  let leader = options.leader ?? A;
  const api: Record<string, string> = { [A]: FROM, [B]: FROM, [C]: FROM };
  const kubelet: Record<string, string> = { [A]: FROM, [B]: FROM, [C]: FROM, worker: 'v1.35.9' };
  const cordoned = new Set<string>();
  const lbRegistered = [A, B, C];
  const lb = {
    get registered() {
      return [...lbRegistered];
    },
    register: (t: { id: string }) => void (lbRegistered.includes(t.id) || lbRegistered.push(t.id)),
    deregister: async (id: string) => void lbRegistered.splice(lbRegistered.indexOf(id), 1),
  };
  const targetGroups = new LocalTargetGroups({
    lb,
    targetGroupArns: [TG],
    backend: (id) => (id in api ? { host: '127.0.0.1', port: apiPort } : undefined),
    drainMs: 0,
    timeline,
  });
  const clusters = staticDirectory([cluster!]);
  const ids = [A, B, C];
  const status = (id: string): Json => ({
    instanceId: id,
    healthy: id !== options.unhealthy,
    reason: id === options.unhealthy ? 'health check failed: context deadline exceeded' : '',
    memberId: `${ids.indexOf(id) + 1}000`,
    memberName: NAME[id]!,
    isLeader: leader === id,
    revision: 48219,
    dbSize: 52428800,
    version: '3.6.16',
    alarms: [],
  });
  const check = (id: string, version?: string): Json => ({
    instanceId: id,
    node: NAME[id]!,
    version: version ?? '',
    apiServerReady: true,
    apiServerDetail: 'ok',
    nodeExists: true,
    nodeReady: true,
    kubeletVersion: kubelet[id]!,
    staticPods: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((c) => ({
      name: `${c}-${NAME[id]}`,
      image: `registry.k8s.io/${c}:${api[id]}`,
      ready: true,
    })),
    controlPlaneNodes: ids.map((x) => ({ name: NAME[x]!, ready: true, unschedulable: cordoned.has(x) })),
    etcdMembers: ids.map((x) => ({
      endpoint: `https://${NAME[x]}:2379`,
      healthy: x !== options.unhealthy,
      detail: '',
    })),
    etcdMemberCount: 3,
  });
  const command = (p: JsonObject): Json => {
    const id = String(p['instanceId']);
    const args = (p['args'] ?? {}) as JsonObject;
    switch (p['command']) {
      case 'etcd-status':
        return status(id);
      case 'etcd-snapshot':
        if (options.backupFails) throw new CommandFailedError('etcd-snapshot exited 1: upload failed');
        return { ...backup.snapshot, instanceId: id };
      case 'control-plane-upgrade': {
        if (args['phase'] === 'plan') {
          return {
            instanceId: id,
            phase: 'plan',
            version: String(args['version']),
            kubeadm: 'kubeadm upgrade plan',
            kubeadmVersion: FROM,
            planOutput: `[upgrade/versions] Cluster version: ${FROM}`,
            packageAvailable: true,
            apiServers: ids.map((x) => ({
              node: NAME[x]!,
              image: `registry.k8s.io/kube-apiserver:${api[x]}`,
            })),
            nodes: [
              ...ids.map((x) => ({
                name: NAME[x]!,
                providerID: `aws:///eu-west-1a/${x}`,
                ready: true,
                kubeletVersion: kubelet[x]!,
                controlPlane: true,
              })),
              {
                name: 'worker-1',
                providerID: 'aws:///eu-west-1a/i-0beef00000000001',
                ready: true,
                kubeletVersion: 'v1.35.9',
                controlPlane: false,
              },
            ],
          };
        }
        timeline.push({
          at: Date.now(),
          kind: 'kubeadm',
          subject: id,
          etcdLeader: leader,
          detail: String(args['phase']),
        });
        api[id] = String(args['version']);
        if (options.gateNeverPassesOn !== id) kubelet[id] = String(args['version']);
        if (options.electionBefore && id !== options.electionBefore && api[options.electionBefore] === FROM) {
          leader = options.electionBefore; // an election while this node restarted
        }
        return {
          instanceId: id,
          phase: args['phase']!,
          version: args['version']!,
          kubeadm: `kubeadm upgrade ${String(args['phase'])}`,
          packages: [],
          kubeletRestarted: true,
        };
      }
      case 'control-plane-check':
        return check(id, args['version'] as string | undefined);
      case 'etcd-move-leader': {
        const was = leader === id;
        if (was) {
          leader = ids.find((x) => x !== id && x !== options.unhealthy)!;
          timeline.push({
            at: Date.now(),
            kind: 'apiserver-restarted',
            subject: id,
            etcdLeader: leader,
            detail: 'leader moved',
          });
        }
        return {
          instanceId: id,
          memberId: '1',
          wasLeader: was,
          movedTo: was ? leader : '',
          leaderAfter: leader,
        };
      }
      case 'node-cordon':
        if (args['action'] === 'cordon') cordoned.add(String(p['subject']));
        else cordoned.delete(String(p['subject']));
        return { node: args['node']!, unschedulable: args['action'] === 'cordon', changed: true };
      case 'node-drain':
        return { node: args['node']!, drained: true, evicted: ['kube-system/coredns-7d9f'], blockedBy: [] };
      default:
        throw new Error(`unexpected command ${String(p['command'])}`);
    }
  };
  const fakes: Record<string, Fake> = {
    'acquire-lock': lock.acquire,
    'release-lock': lock.release,
    'find-control-plane': () => ({ instances: backup.instances }),
    'send-command': (p) => command(obj(p)),
    'pick-member': (p) =>
      pickMember(obj(p)['statuses'] as unknown as (MemberStatus | MemberFailure)[]) as unknown as Json,
    'verify-upload': () => backup.upload,
    'prune-snapshots': () => backup.pruned,
    'check-alarms': () => ({
      checked: ['prod-eu-apiserver-5xx'],
      firing: options.alarm ? [{ name: 'prod-eu-apiserver-5xx' }] : [],
    }),
    'plan-upgrade': async (p) => (await planUpgrade(obj(p) as never, { clusters })) as unknown as Json,
    'judge-node-gate': (p) => judgeGateCheck(obj(p) as never) as unknown as Json,
    'deregister-targets': async (p) =>
      (await deregisterTargets(obj(p) as never, { clusters, targetGroups })) as unknown as Json,
    'check-targets': async (p) => (await checkTargets(obj(p) as never, { targetGroups })) as unknown as Json,
    'register-targets': async (p) =>
      (await registerTargets(obj(p) as never, { targetGroups })) as unknown as Json,
    'request-approval': () => {
      if (options.approval === 'never') return never();
      if (options.approval === 'deny') {
        throw new ApprovalDeniedError(
          'upgrade-control-plane on prod-eu was denied by cli:alice at 2026-11-25T06:10:00Z: not during the release freeze',
        );
      }
      return { approvalId: 'apr-x', decision: 'approved', by: 'cli:alice', at: '2026-11-25T06:10:00Z' };
    },
    'publish-outcome': outcomes.publish,
    // the nested patch-workers of the workers' kubelets: never reached here (upgrade.workers false)
    ...Object.fromEntries(
      ['prepare-patch', 'plan-patch', 'check-patch-gate', 'record-patch', 'finish-patch'].map((n) => [
        n,
        () => {
          throw new Error(`${n}: the workers' kubelets are not upgraded in these tests`);
        },
      ]),
    ),
  };
  return { lock, outcomes, fakes, timeline, api, kubelet, cordoned, lbRegistered, leader: () => leader };
}

const input = (over: JsonObject = {}): JsonObject => ({
  cluster: CLUSTER,
  version: TO,
  requestedBy: 'cli:bob',
  ...over,
});

const upgrades = (w: ReturnType<typeof world>) => w.timeline.filter((e) => e.kind === 'kubeadm');

/** replays the load balancer timeline: never more than one control-plane node out of traffic */
function assertOneOutAtATime(timeline: readonly TimelineEvent[]) {
  const out = new Set<string>();
  for (const e of timeline) {
    if (e.kind === 'deregister') out.add(e.subject);
    if (e.kind === 'register') out.delete(e.subject);
    expect(out.size).toBeLessThanOrEqual(1);
    // a node is upgraded only while it, and only it, is out of the load balancer, and never while it leads etcd
    if (e.kind === 'kubeadm') {
      expect([...out]).toEqual([e.subject]);
      expect(e.etcdLeader).not.toBe(e.subject);
    }
  }
}

describe('upgrade-control-plane', () => {
  it('upgrades every control-plane node, one at a time, followers first and the leader last', async () => {
    const w = world();

    const run = await runWorkflow('upgrade-control-plane', input(), { fakes: w.fakes });

    expect(run.status).toBe('SUCCEEDED');
    expect(upgrades(w).map((e) => [e.subject, e.detail])).toEqual([
      [B, 'apply'],
      [C, 'node'],
      [A, 'node'],
    ]);
    expect(w.api).toEqual({ [A]: TO, [B]: TO, [C]: TO });
    expect(w.kubelet).toMatchObject({ [A]: TO, [B]: TO, [C]: TO });
    expect(w.lbRegistered.sort()).toEqual([A, B, C].sort());
    expect(w.cordoned.size).toBe(0);
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
    expect(w.lock.holder(CLUSTER, 'workers')).toBeUndefined();
    assertOneOutAtATime(w.timeline);
    // the snapshot came from the nested backup, under this execution's lease, before the approval
    expect(run.children.map((c) => [c.workflow, c.status])).toEqual([['etcd-backup', 'SUCCEEDED']]);
    const approval = obj(run.inputsTo('request-approval')[0]!);
    expect(approval['summary']).toContain(String(backup.snapshot['key']));
    expect(approval['summary']).toContain(`from ${FROM} to ${TO}`);
    expect(approval['timeoutSeconds']).toBe(3600);
    expect(w.outcomes.published.at(-1)).toMatchObject({
      outcome: 'Succeeded',
      snapshot: { key: backup.snapshot['key'] },
    });
    expect(String(w.outcomes.published.at(-1)!['note'])).toContain(`from ${FROM} to ${TO} on 3 node(s)`);
  });

  it('never upgrades the etcd leader: leadership moves off a node that leads when its turn comes', async () => {
    // an election makes c the leader while b restarts, before c's turn
    const w = world({ electionBefore: C });

    const run = await runWorkflow('upgrade-control-plane', input(), { fakes: w.fakes });

    expect(run.status).toBe('SUCCEEDED');
    const moves = run.inputsTo('send-command').filter((p) => obj(p)['command'] === 'etcd-move-leader');
    expect(moves.map((p) => obj(p)['instanceId'])).toEqual([B, C, A]);
    for (const e of upgrades(w)) expect(e.etcdLeader).not.toBe(e.subject);
    assertOneOutAtATime(w.timeline);
  });

  it('stops after the preflight on a dry run, reporting the plan, with nothing changed and no snapshot', async () => {
    const w = world();

    const run = await runWorkflow('upgrade-control-plane', input({ dryRun: true }), { fakes: w.fakes });

    expect(run.status).toBe('SUCCEEDED');
    expect(run.children).toEqual([]);
    expect(upgrades(w)).toEqual([]);
    expect(w.timeline).toEqual([]);
    expect(run.callsTo('request-approval')).toEqual([]);
    expect(String(w.outcomes.published[0]!['note'])).toMatch(
      /^Dry run: Upgrade prod-eu from v1\.36\.4 to v1\.37\.2/,
    );
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
  });

  describe('refused preflights: nothing changes, the lock is released, the reasons are reported', () => {
    it.each([
      [
        'a skew of two minors',
        { version: 'v1.38.0' },
        {},
        'v1.38.0 is 2 minor releases ahead of the control plane (v1.36.4)',
      ],
      ['an unhealthy etcd member', {}, { unhealthy: C }, `etcd member on ${C} is not healthy`],
      ['a blocker alarm in ALARM', {}, { alarm: true }, 'blocker alarm prod-eu-apiserver-5xx is in ALARM'],
    ] as const)('refuses %s', async (_what, over, options, reason) => {
      const w = world(options);

      const run = await runWorkflow('upgrade-control-plane', input(over), { fakes: w.fakes });

      expect(run.status).toBe('FAILED');
      expect(run.error?.Error).toBe('PreflightRefusedError');
      expect(run.error?.Cause).toContain(reason);
      expect(run.children).toEqual([]);
      expect(w.timeline).toEqual([]);
      expect(run.callsTo('request-approval')).toEqual([]);
      expect(w.lock.holder(CLUSTER)).toBeUndefined();
      expect(w.outcomes.published).toEqual([
        expect.objectContaining({
          outcome: 'Failed',
          error: expect.objectContaining({ Error: 'PreflightRefusedError' }),
        }),
      ]);
    });

    it('refuses while another operation holds the lock, naming it, and leaves its lease alone', async () => {
      const w = world();
      const backupLease = {
        owner: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-etcd-backup:hourly',
        operation: 'etcd-backup',
        acquiredAt: '2026-11-25T05:59:00.000Z',
        expiresAt: '2026-11-25T07:59:00.000Z',
      };
      w.lock.hold(CLUSTER, backupLease, ['control-plane']);

      const run = await runWorkflow('upgrade-control-plane', input(), { fakes: w.fakes });

      expect(run.status).toBe('FAILED');
      expect(run.error?.Error).toBe('PreflightRefusedError');
      expect(w.lock.holder(CLUSTER)).toEqual(backupLease);
      expect(w.lock.holder(CLUSTER, 'workers')).toBeUndefined();
      expect(w.outcomes.published[0]).toMatchObject({
        outcome: 'Skipped',
        heldBy: { operation: 'etcd-backup' },
      });
      expect(run.callsTo('send-command')).toEqual([]);
    });

    it('refuses when the fresh snapshot fails, before the approval, with nothing changed', async () => {
      const w = world({ backupFails: true });

      const run = await runWorkflow('upgrade-control-plane', input(), { fakes: w.fakes });

      expect(run.status).toBe('FAILED');
      expect(run.children.map((c) => [c.workflow, c.status])).toEqual([['etcd-backup', 'FAILED']]);
      expect(run.callsTo('request-approval')).toEqual([]);
      expect(w.timeline).toEqual([]);
      expect(w.lock.holder(CLUSTER)).toBeUndefined();
      expect(w.outcomes.published.at(-1)).toMatchObject({
        workflow: 'upgrade-control-plane',
        outcome: 'Failed',
      });
    });
  });

  describe('approval', () => {
    it('aborts on a denial with nothing changed, naming who denied and why', async () => {
      const w = world({ approval: 'deny' });

      const run = await runWorkflow('upgrade-control-plane', input(), { fakes: w.fakes });

      expect(run.status).toBe('FAILED');
      expect(run.error).toMatchObject({
        Error: 'ApprovalDeniedError',
        Cause: expect.stringContaining('denied by cli:alice'),
      });
      expect(w.timeline).toEqual([]);
      expect(w.lock.holder(CLUSTER)).toBeUndefined();
      expect(w.outcomes.published.at(-1)).toMatchObject({
        outcome: 'Failed',
        snapshot: { key: backup.snapshot['key'] },
      });
    });

    it('aborts when nobody answers within the approval time, saying so', async () => {
      const w = world({ approval: 'never' });

      const run = await runWorkflow('upgrade-control-plane', input(), {
        fakes: w.fakes,
        timeoutMs: { 'Ask for approval to upgrade': 50 },
      });

      expect(run.status).toBe('FAILED');
      expect(run.error).toMatchObject({
        Error: 'States.Timeout',
        Cause: expect.stringContaining('nothing was changed'),
      });
      expect(w.timeline).toEqual([]);
      expect(w.lock.holder(CLUSTER)).toBeUndefined();
    });
  });

  it('stops at a gate that fails on the second node: first upgraded, third untouched, second out of the LB, lock released, message complete', async () => {
    const w = world({ gateNeverPassesOn: C });

    const run = await runWorkflow('upgrade-control-plane', input(), { fakes: w.fakes });

    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe('NodeStepFailedError');
    // first node (b) upgraded and back; second (c) upgraded but failed its gate; third (a) untouched
    expect(upgrades(w).map((e) => e.subject)).toEqual([B, C]);
    expect(w.api[A]).toBe(FROM);
    expect(w.lbRegistered.sort()).toEqual([A, B].sort());
    expect(w.cordoned).toEqual(new Set([C]));
    expect(
      run
        .inputsTo('send-command')
        .some(
          (p) =>
            obj(p)['instanceId'] === A &&
            obj(p)['command'] !== 'etcd-status' &&
            obj(p)['command'] !== 'etcd-snapshot' &&
            obj(p)['command'] !== 'control-plane-upgrade',
        ),
    ).toBe(false);
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
    expect(w.lock.holder(CLUSTER, 'workers')).toBeUndefined();
    const cause = run.error!.Cause;
    expect(cause).toContain(`stopped at node ${NAME[C]} (${C}), step gate`);
    expect(cause).toContain(`kubelet reports ${FROM}, not ${TO}`);
    expect(cause).toContain('the node is left out of the load balancer and cordoned');
    expect(cause).toContain(String(backup.snapshot['key']));
    expect(cause).toContain('docs/runbooks/upgrade-control-plane.md#the-gate-after-the-node-failed');
    expect(w.outcomes.published.at(-1)).toMatchObject({
      outcome: 'Failed',
      error: { Error: 'NodeStepFailedError', Cause: cause },
    });
    // the gate was asked until its deadline, each check its own command intent
    const checks = run
      .inputsTo('send-command')
      .filter((p) => obj(p)['command'] === 'control-plane-check' && obj(p)['instanceId'] === C);
    expect(checks).toHaveLength(1 + GATE_MAX_CHECKS);
    expect(new Set(checks.map((p) => obj(p)['state'])).size).toBe(1 + GATE_MAX_CHECKS);
    assertOneOutAtATime(w.timeline);
  });
});
