import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { checkTargets } from '../../functions/check-targets/service';
import { deregisterTargets } from '../../functions/deregister-targets/service';
import { checkReplacement } from '../../functions/check-replacement/service';
import { planUpgrade } from '../../functions/plan-upgrade/service';
import { replaceInstance } from '../../functions/replace-instance/service';
import type { AutoScalingGroupState, NodeReplacer } from '../../functions/shared/ports';
import { registerTargets } from '../../functions/register-targets/service';
import { parseConfig } from '../../functions/shared/domain/config';
import {
  pickMember,
  type MemberFailure,
  type MemberStatus,
} from '../../functions/shared/domain/member-selection';
import { judgeGateCheck, GATE_MAX_CHECKS } from '../../functions/shared/domain/upgrade-gates';
import { REPLACEMENT_MAX_CHECKS } from '../../functions/shared/domain/control-plane-rollout';
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

/** the cluster as caretaker.config.json gives it; kops and patching settings per test */
const clusterOf = (kind: 'kubeadm' | 'kops' = 'kubeadm', extra: JsonObject = {}) =>
  parseConfig({
    clusters: [
      {
        name: CLUSTER,
        kind,
        region: 'eu-west-1',
        controlPlane: { targetGroupArns: [TG] },
        // the workers' kubelets (a nested patch-workers run): test/asl/upgrade-control-plane-workers.test.ts
        upgrade: { blockerAlarms: ['prod-eu-apiserver-5xx'], workers: false },
        ...extra,
      },
    ],
  }).clusters[0]!;

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

/**
 * kops' instance groups as the NodeReplacer port sees them: one Auto Scaling group per
 * control-plane instance (master-<az>), each launching lt-0kops:2 while its instance runs
 * lt-0kops:1 (`kops update cluster --yes` was run). A terminated instance's group launches a
 * replacement that is Pending on the first look and InService on the second, unless it never is.
 */
function kopsGroups(
  ids: readonly string[],
  neverInService: string | undefined,
  joined: (old: string, fresh: string) => string,
) {
  const groups = new Map<string, AutoScalingGroupState>(
    ids.map((id, i) => [
      `master-eu-west-1${'abc'[i]}.masters.${CLUSTER}`,
      {
        name: `master-eu-west-1${'abc'[i]}.masters.${CLUSTER}`,
        launchTemplate: 'lt-0kops:2',
        instances: [
          {
            instanceId: id,
            lifecycleState: 'InService',
            healthStatus: 'Healthy',
            launchTemplate: 'lt-0kops:1',
          },
        ],
      },
    ]),
  );
  const terminated: string[] = [];
  const looks = new Map<string, number>();
  let launched = 0;
  const owner = (id: string) =>
    [...groups.values()].find((g) => g.instances.some((i) => i.instanceId === id));
  const replacer: NodeReplacer = {
    reboot: () => Promise.reject(new Error('unexpected reboot')),
    replace: async (_cluster, id) => {
      const g = owner(id);
      if (!g) return { replaced: false };
      terminated.push(id);
      launched += 1;
      const fresh = `i-0f00000000000000${launched}`;
      g.instances = [
        ...g.instances.map((i) => (i.instanceId === id ? { ...i, lifecycleState: 'Terminating' } : i)),
        {
          instanceId: fresh,
          lifecycleState: 'Pending',
          healthStatus: 'Healthy',
          launchTemplate: 'lt-0kops:2',
        },
      ];
      looks.set(fresh, 0);
      if (id === neverInService) looks.set(fresh, -Infinity);
      return { replaced: true, group: g.name };
    },
    groupOf: async (_cluster, id) => owner(id),
    describeGroup: async (_cluster, name) => {
      const g = groups.get(name)!;
      for (const i of g.instances) {
        const n = looks.get(i.instanceId);
        if (n === undefined || i.lifecycleState !== 'Pending') continue;
        looks.set(i.instanceId, n + 1);
        if (n + 1 >= 2) {
          const old = g.instances.find((x) => x.lifecycleState === 'Terminating')!.instanceId;
          const node = joined(old, i.instanceId);
          Object.assign(i, { lifecycleState: 'InService', privateDnsName: node, privateIp: '10.0.0.9' });
          g.instances = g.instances.filter((x) => x.instanceId !== old);
        }
      }
      return structuredClone(g);
    },
  };
  return { replacer, terminated, groups };
}

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
  kind?: 'kubeadm' | 'kops';
  /** more of the cluster's config (patching settings) */
  config?: JsonObject;
  /** os-patch: this node never comes back with its new boot id */
  neverBackAfterPatch?: string;
  /** kops: the replacement of this instance stays Pending */
  neverInService?: string;
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
  const clusters = staticDirectory([clusterOf(options.kind, options.config)]);
  const ids = [A, B, C];
  const kops = kopsGroups(ids, options.neverInService, (old, fresh) => {
    // the new instance joins at the version its launch template carries; etcd-manager re-adds its member
    NAME[fresh] = `ip-10-0-9-${fresh.slice(-1)}.eu-west-1.compute.internal`;
    api[fresh] = TO;
    kubelet[fresh] = TO;
    ids.splice(ids.indexOf(old), 1, fresh);
    if (leader === old) leader = fresh;
    return NAME[fresh]!;
  });
  const bootId: Record<string, string> = { [A]: 'boot-a-1', [B]: 'boot-b-1', [C]: 'boot-c-1' };
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
        if (args['phase'] === 'plan' || args['phase'] === 'inventory') {
          const plan = args['phase'] === 'plan';
          return {
            instanceId: id,
            phase: String(args['phase']),
            version: String(args['version'] ?? ''),
            kubeadm: plan ? 'kubeadm upgrade plan' : '',
            ...(plan
              ? {
                  kubeadmVersion: FROM,
                  planOutput: `[upgrade/versions] Cluster version: ${FROM}`,
                  packageAvailable: true,
                }
              : {}),
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
      case 'os-patch':
      case 'os-patch-baseline': {
        timeline.push({
          at: Date.now(),
          kind: 'kubeadm',
          subject: id,
          etcdLeader: leader,
          detail: 'os-patch',
        });
        const before = bootId[id]!;
        // the node reboots: a new boot id, unless it never comes back
        if (options.neverBackAfterPatch !== id) bootId[id] = before.replace(/-1$/, '-2');
        return {
          manager: 'apt',
          packages: 3,
          changed: ['openssl', 'libssl3', 'linux-image-amd64'],
          rebootRequired: true,
          rebooted: true,
          bootIdBefore: before,
          bootIdAfter: before.replace(/-1$/, '-2'),
        };
      }
      case 'node-status':
        return {
          node: args['node']!,
          exists: true,
          ready: true,
          unschedulable: cordoned.has(id),
          bootID: bootId[id]!,
          kubeletVersion: kubelet[id]!,
          daemonSetPodsReady: true,
          daemonSetPodsNotReady: [],
        };
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
    'find-control-plane': () => ({ instances: backup.instances, kind: options.kind ?? 'kubeadm' }),
    'replace-instance': async (p) => {
      const r = await replaceInstance(obj(p) as never, { nodes: kops.replacer });
      timeline.push({
        at: Date.now(),
        kind: 'kubeadm',
        subject: r.instanceId,
        etcdLeader: leader,
        detail: 'replace',
      });
      return r as unknown as Json;
    },
    'check-replacement': async (p) =>
      (await checkReplacement(obj(p) as never, { nodes: kops.replacer })) as unknown as Json,
    'send-command': (p) => command(obj(p)),
    'pick-member': (p) =>
      pickMember(obj(p)['statuses'] as unknown as (MemberStatus | MemberFailure)[]) as unknown as Json,
    'verify-upload': () => backup.upload,
    'prune-snapshots': () => backup.pruned,
    'check-alarms': () => ({
      checked: ['prod-eu-apiserver-5xx'],
      firing: options.alarm ? [{ name: 'prod-eu-apiserver-5xx' }] : [],
    }),
    'plan-upgrade': async (p) =>
      (await planUpgrade(obj(p) as never, { clusters, nodes: kops.replacer })) as unknown as Json,
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
  return {
    lock,
    outcomes,
    fakes,
    timeline,
    api,
    kubelet,
    cordoned,
    lbRegistered,
    kops,
    leader: () => leader,
  };
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

/** the node changes (kubeadm, os-patch, a kops replacement) in order, by subject */
const changes = (w: ReturnType<typeof world>, detail: string) =>
  w.timeline.filter((e) => e.kind === 'kubeadm' && e.detail === detail).map((e) => e.subject);

describe('patch-control-plane (the same ASL, os-patch in place of kubeadm)', () => {
  const patchInput = (over: JsonObject = {}): JsonObject => ({
    cluster: CLUSTER,
    requestedBy: 'cli:bob',
    ...over,
  });

  it('patches every control-plane node one at a time, leader last, each back with a new boot id behind its gates', async () => {
    const w = world({ config: { patching: { scope: 'all', drain: { force: true } } } });

    const run = await runWorkflow('patch-control-plane', patchInput(), { fakes: w.fakes });

    expect(run.status).toBe('SUCCEEDED');
    expect(changes(w, 'os-patch')).toEqual([B, C, A]);
    expect(upgrades(w).filter((e) => e.detail !== 'os-patch')).toEqual([]);
    // the patching workflow's command with the cluster's patching settings; drain.force passed on
    const patches = run.inputsTo('send-command').filter((p) => obj(p)['command'] === 'os-patch');
    expect(patches.map((p) => obj(p)['args'])).toEqual(
      Array(3).fill({ method: 'package-manager', scope: 'all', reboot: 'if-required' }),
    );
    const drains = run.inputsTo('send-command').filter((p) => obj(p)['command'] === 'node-drain');
    expect(drains.map((p) => obj(obj(p)['args']!)['force'])).toEqual([true, true, true]);
    // no kubeadm: the preflight only lists versions, and the gates check no version
    const cp = run.inputsTo('send-command').filter((p) => obj(p)['command'] === 'control-plane-upgrade');
    expect(cp.map((p) => obj(obj(p)['args']!)['phase'])).toEqual(['inventory']);
    const gates = run.inputsTo('judge-node-gate').filter((p) => obj(p)['phase'] === 'after');
    expect(new Set(gates.map((p) => obj(p)['version']))).toEqual(new Set(['']));
    expect(w.api).toEqual({ [A]: FROM, [B]: FROM, [C]: FROM });
    expect(w.lbRegistered.sort()).toEqual([A, B, C].sort());
    expect(w.cordoned.size).toBe(0);
    assertOneOutAtATime(w.timeline);
    // its own name on the lock, the approval and the report; a fresh snapshot first
    expect(obj(run.inputsTo('acquire-lock')[0]!)['operation']).toBe('patch-control-plane');
    expect(run.children.map((c) => [c.workflow, c.status])).toEqual([['etcd-backup', 'SUCCEEDED']]);
    const approval = obj(run.inputsTo('request-approval')[0]!);
    expect(approval['workflow']).toBe('patch-control-plane');
    expect(approval['summary']).toContain(`Patch the OS of ${CLUSTER}'s control plane`);
    expect(approval['summary']).toContain(String(backup.snapshot['key']));
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
    expect(w.outcomes.published.at(-1)).toMatchObject({
      workflow: 'patch-control-plane',
      outcome: 'Succeeded',
    });
  });

  it('stops when a rebooted node never comes back: left out of the load balancer and cordoned, named, lock released', async () => {
    // 60 s to come back: four node-status checks 15 s apart
    const w = world({
      neverBackAfterPatch: C,
      config: { patching: { health: { returnTimeoutSeconds: 60 } } },
    });

    const run = await runWorkflow('patch-control-plane', patchInput(), { fakes: w.fakes });

    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe('NodeStepFailedError');
    expect(changes(w, 'os-patch')).toEqual([B, C]);
    expect(w.lbRegistered.sort()).toEqual([A, B].sort());
    expect(w.cordoned).toEqual(new Set([C]));
    const statuses = run
      .inputsTo('send-command')
      .filter((p) => obj(p)['command'] === 'node-status' && obj(p)['instanceId'] === C);
    expect(statuses).toHaveLength(4);
    const cause = run.error!.Cause;
    expect(cause).toContain(
      `The OS patch of the control plane stopped at node ${NAME[C]} (${C}), step patch`,
    );
    expect(cause).toContain('the node is left out of the load balancer and cordoned');
    expect(cause).toContain(String(backup.snapshot['key']));
    expect(cause).toContain(
      'docs/runbooks/upgrade-control-plane.md#the-node-did-not-come-back-after-its-patch',
    );
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
    expect(w.lock.holder(CLUSTER, 'workers')).toBeUndefined();
    expect(w.outcomes.published.at(-1)).toMatchObject({
      workflow: 'patch-control-plane',
      outcome: 'Failed',
      error: { Error: 'NodeStepFailedError', Cause: cause },
    });
    assertOneOutAtATime(w.timeline);
  });
});

describe('upgrade-control-plane on kops (instance replacement through the Auto Scaling group)', () => {
  it('replaces each control-plane instance in turn, gating the NEW node, and puts the new instance in the load balancer', async () => {
    const w = world({ kind: 'kops' });

    const run = await runWorkflow('upgrade-control-plane', input(), { fakes: w.fakes });

    expect(run.status).toBe('SUCCEEDED');
    // followers first, the leader last; no kubeadm anywhere
    expect(w.kops.terminated).toEqual([B, C, A]);
    expect(changes(w, 'replace')).toEqual([B, C, A]);
    const cp = run.inputsTo('send-command').filter((p) => obj(p)['command'] === 'control-plane-upgrade');
    expect(cp.map((p) => obj(obj(p)['args']!)['phase'])).toEqual(['inventory']);
    // the gate after each node ran on the new instance, about its Node, at the target version
    const after = run
      .inputsTo('send-command')
      .filter((p) => obj(p)['command'] === 'control-plane-check' && /check/.test(String(obj(p)['state'])));
    const fresh = ['i-0f000000000000001', 'i-0f000000000000002', 'i-0f000000000000003'];
    expect([...new Set(after.map((p) => obj(p)['instanceId']))]).toEqual(fresh);
    expect(after.every((p) => obj(obj(p)['args']!)['version'] === TO)).toBe(true);
    // the old instances left the load balancer; their replacements came in with the same ports
    expect(w.lbRegistered.sort()).toEqual([...fresh].sort());
    expect(
      run.inputsTo('register-targets').map((p) => (obj(p)['targets'] as JsonObject[])[0]!['id']),
    ).toEqual(fresh);
    // a replacement coming into the load balancer ends its predecessor's time out of service
    const predecessor = (id: string) => (fresh.includes(id) ? w.kops.terminated[fresh.indexOf(id)]! : id);
    assertOneOutAtATime(
      w.timeline.map((e) => (e.kind === 'register' ? { ...e, subject: predecessor(e.subject) } : e)),
    );
    expect(String(obj(run.inputsTo('request-approval')[0]!)['summary'])).toContain(
      'replaced through its Auto Scaling group',
    );
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
  });

  it('stops when a replacement never comes into service: named, the node out of the load balancer, nothing registered, lock released', async () => {
    const w = world({ kind: 'kops', neverInService: C });

    const run = await runWorkflow('upgrade-control-plane', input(), { fakes: w.fakes });

    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe('NodeStepFailedError');
    expect(w.kops.terminated).toEqual([B, C]);
    // b's replacement is in; c is out and nothing took its place; a untouched
    expect(w.lbRegistered).not.toContain(C);
    expect(w.lbRegistered).toContain(A);
    expect(run.inputsTo('register-targets')).toHaveLength(1);
    const checks = run.inputsTo('check-replacement').filter((p) => obj(p)['replaced'] === C);
    expect(checks).toHaveLength(REPLACEMENT_MAX_CHECKS);
    const cause = run.error!.Cause;
    expect(cause).toContain(`The upgrade to ${TO} stopped at node ${NAME[C]} (${C}), step upgrade`);
    expect(cause).toContain('did not bring a replacement for');
    expect(cause).toContain('Caretaker registers nothing for the replacement');
    expect(cause).toContain(String(backup.snapshot['key']));
    expect(cause).toContain(
      'docs/runbooks/upgrade-control-plane.md#the-replacement-did-not-come-into-service',
    );
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
    expect(w.lock.holder(CLUSTER, 'workers')).toBeUndefined();
  });

  it('refuses in the preflight when kops update cluster was not run: the instances already run their groups launch template', async () => {
    const w = world({ kind: 'kops' });
    for (const g of w.kops.groups.values()) g.launchTemplate = 'lt-0kops:1';

    const run = await runWorkflow('upgrade-control-plane', input(), { fakes: w.fakes });

    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe('PreflightRefusedError');
    expect(run.error?.Cause).toContain('Run kops update cluster --yes first');
    expect(run.children).toEqual([]);
    expect(w.kops.terminated).toEqual([]);
    expect(w.lock.holder(CLUSTER)).toBeUndefined();
  });
});
