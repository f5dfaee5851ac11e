/**
 * upgrade-control-plane's last part: after every control-plane node passed its gate, the workers'
 * kubelets are upgraded through the patching workflow's sliding window, as a nested patch-workers
 * execution under the upgrade's worker lease. The real ASL of both workflows; the control plane
 * faked as in upgrade-control-plane.test.ts (three healthy members, every gate passing), the
 * workers by test/asl/patch-world.ts with the real patch Lambdas.
 */
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
import { judgeGateCheck } from '../../functions/shared/domain/upgrade-gates';
import { LocalTargetGroups, type TimelineEvent } from '../../sandbox/elbv2-target-groups';
import { runWorkflow, type Fake, type Json, type JsonObject } from '../../sandbox/asl-runner';
import { staticDirectory } from '../support/fakes';
import { obj } from './fakes';
import { BUCKET, CLUSTER, PatchWorld } from './patch-world';

jest.setTimeout(90_000);

const backup = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'etcd-backup.json'), 'utf8')) as {
  instances: { instanceId: string; name: string; privateIp: string }[];
  snapshot: JsonObject;
  upload: Json;
  pruned: Json;
};
const TG = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/prod-eu-api/0123456789abcdef';
const FROM = 'v1.36.4';
const TO = 'v1.37.2';
const ids = backup.instances.map((i) => i.instanceId);
const NAME: Record<string, string> = Object.fromEntries(backup.instances.map((i) => [i.instanceId, i.name]));

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

/** the control plane (every member healthy, a leads) and the workers of a PatchWorld, one lock */
function world(upgradeBlock: Record<string, unknown> = {}) {
  const workers = new PatchWorld({ workers: 3, kubeletVersion: FROM });
  const [cluster] = parseConfig({
    clusters: [
      {
        name: CLUSTER,
        kind: 'kubeadm',
        region: 'eu-west-1',
        controlPlane: { targetGroupArns: [TG] },
        // the workers' kubelets go through patch-workers: the cluster has a patching block
        patching: {},
        upgrade: upgradeBlock,
      },
    ],
  }).clusters;
  const clusters = staticDirectory([cluster!]);
  let leader = ids[0]!;
  const api: Record<string, string> = Object.fromEntries(ids.map((id) => [id, FROM]));
  const timeline: TimelineEvent[] = [];
  const registered = [...ids];
  const targetGroups = new LocalTargetGroups({
    lb: {
      get registered() {
        return [...registered];
      },
      register: (t: { id: string }) => void (registered.includes(t.id) || registered.push(t.id)),
      deregister: async (id: string) => void registered.splice(registered.indexOf(id), 1),
    },
    targetGroupArns: [TG],
    backend: (id) => (id in api ? { host: '127.0.0.1', port: apiPort } : undefined),
    drainMs: 0,
    timeline,
  });
  const controlPlane = (p: JsonObject): Json => {
    const id = String(p['instanceId']);
    const args = (p['args'] ?? {}) as JsonObject;
    switch (p['command']) {
      case 'etcd-status':
        return {
          instanceId: id,
          healthy: true,
          reason: '',
          memberId: `${ids.indexOf(id) + 1}000`,
          memberName: NAME[id]!,
          isLeader: leader === id,
          revision: 48219,
          dbSize: 52428800,
          version: '3.6.16',
          alarms: [],
        };
      case 'etcd-snapshot':
        return { ...backup.snapshot, instanceId: id };
      case 'control-plane-upgrade':
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
            nodes: ids.map((x) => ({
              name: NAME[x]!,
              providerID: `aws:///eu-west-1a/${x}`,
              ready: true,
              kubeletVersion: api[x]!,
              controlPlane: true,
            })),
          };
        }
        api[id] = String(args['version']);
        // the API server's /version, as node-inventory reads it, once every control-plane node runs it
        if (ids.every((x) => api[x] === TO)) workers.apiServerVersion = TO;
        return {
          instanceId: id,
          phase: args['phase']!,
          version: args['version']!,
          kubeadm: `kubeadm upgrade ${String(args['phase'])}`,
          packages: [],
          kubeletRestarted: true,
        };
      case 'control-plane-check':
        return {
          instanceId: id,
          node: NAME[id]!,
          version: (args['version'] as string | undefined) ?? '',
          apiServerReady: true,
          apiServerDetail: 'ok',
          nodeExists: true,
          nodeReady: true,
          kubeletVersion: api[id]!,
          staticPods: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'].map((c) => ({
            name: `${c}-${NAME[id]}`,
            image: `registry.k8s.io/${c}:${api[id]}`,
            ready: true,
          })),
          controlPlaneNodes: ids.map((x) => ({ name: NAME[x]!, ready: true, unschedulable: false })),
          etcdMembers: ids.map((x) => ({ endpoint: `https://${NAME[x]}:2379`, healthy: true, detail: '' })),
          etcdMemberCount: 3,
        };
      case 'etcd-move-leader': {
        const was = leader === id;
        if (was) leader = ids.find((x) => x !== id)!;
        return {
          instanceId: id,
          memberId: '1',
          wasLeader: was,
          movedTo: was ? leader : '',
          leaderAfter: leader,
        };
      }
      case 'node-cordon':
        return { node: args['node']!, unschedulable: args['action'] === 'cordon', changed: true };
      case 'node-drain':
        return { node: args['node']!, drained: true, evicted: [], blockedBy: [] };
      default:
        throw new Error(`unexpected control-plane command ${String(p['command'])}`);
    }
  };
  // a command about a control-plane node goes to the control plane; everything else to the workers
  const isControlPlane = (p: JsonObject) =>
    ids.includes(String(p['subject'] ?? p['instanceId'])) &&
    !['node-inventory', 'node-status', 'node-record'].includes(String(p['command']));
  const patchFakes = workers.fakes();
  const fakes: Record<string, Fake> = {
    ...patchFakes,
    'send-command': (p, call) =>
      isControlPlane(obj(p)) ? controlPlane(obj(p)) : patchFakes['send-command']!(p, call),
    'find-control-plane': () => ({ instances: backup.instances, kind: 'kubeadm' }),
    'pick-member': (p) =>
      pickMember(obj(p)['statuses'] as unknown as (MemberStatus | MemberFailure)[]) as unknown as Json,
    'verify-upload': () => backup.upload,
    'prune-snapshots': () => backup.pruned,
    'check-alarms': () => ({ checked: [], firing: [] }),
    'plan-upgrade': async (p) => (await planUpgrade(obj(p) as never, { clusters })) as unknown as Json,
    'judge-node-gate': (p) => judgeGateCheck(obj(p) as never) as unknown as Json,
    'deregister-targets': async (p) =>
      (await deregisterTargets(obj(p) as never, { clusters, targetGroups })) as unknown as Json,
    'check-targets': async (p) => (await checkTargets(obj(p) as never, { targetGroups })) as unknown as Json,
    'register-targets': async (p) =>
      (await registerTargets(obj(p) as never, { targetGroups })) as unknown as Json,
    'request-approval': () => ({
      approvalId: 'apr-x',
      decision: 'approved',
      by: 'cli:alice',
      at: '2026-11-29T02:40:00Z',
    }),
    // kops' instance replacement: never reached on this kubeadm cluster
    ...Object.fromEntries(
      ['replace-instance', 'check-replacement'].map((n) => [
        n,
        () => {
          throw new Error(`${n}: a kubeadm cluster's nodes are upgraded in place`);
        },
      ]),
    ),
  };
  const run = (input: JsonObject = {}) =>
    runWorkflow(
      'upgrade-control-plane',
      { cluster: CLUSTER, version: TO, requestedBy: 'cli:bob', ...input },
      {
        fakes,
        executionName: 'upgrade-control-plane-prod-eu-1',
        objects: {
          getObject: async (bucket, key) => {
            expect(bucket).toBe(BUCKET);
            const o = workers.store.objects.get(key);
            if (!o) throw new Error(`NoSuchKey: ${key}`);
            return o.body;
          },
        },
      },
    );
  return { workers, api, run };
}

const kubeletCommands = (w: PatchWorld) => w.sent.filter((s) => s.command === 'kubelet-upgrade');

describe("upgrade-control-plane: the workers' kubelets after the control plane", () => {
  it("starts patch-workers as a nested execution with the target, under the upgrade's worker lease, and reports the workers", async () => {
    const { workers, api, run } = world();

    const r = await run();

    expect(r.error).toBeUndefined();
    expect(r.status).toBe('SUCCEEDED');
    expect(Object.values(api)).toEqual([TO, TO, TO]);
    expect(r.children.map((c) => [c.workflow, c.status])).toEqual([
      ['etcd-backup', 'SUCCEEDED'],
      ['patch-workers', 'SUCCEEDED'],
    ]);
    // the nested run got the target and this execution as the owner of its lease
    const child = r.children[1]!;
    expect(child.inputsTo('prepare-patch')[0]).toMatchObject({
      cluster: CLUSTER,
      kubernetesVersion: TO,
      parentOwner: r.executionId,
    });
    // every worker drained and upgraded in the sliding window, and reporting the target
    expect(kubeletCommands(workers)).toHaveLength(3);
    for (const n of workers.nodes.values()) {
      expect(n.kubeletVersion).toBe(TO);
      expect(n.unschedulable).toBe(false);
    }
    // the nested run worked under the upgrade's lease, which the upgrade released at the end
    expect(child.inputsTo('acquire-lock')[0]).toMatchObject({
      parentOwner: r.executionId,
      scopes: ['workers'],
    });
    expect(workers.lock.holder(CLUSTER)).toBeUndefined();
    expect(workers.lock.holder(CLUSTER, 'workers')).toBeUndefined();
    const outcome = workers.outcomes.published.at(-1)!;
    expect(outcome).toMatchObject({ workflow: 'upgrade-control-plane', outcome: 'Succeeded' });
    expect(String(outcome['note'])).toContain(`from ${FROM} to ${TO} on 3 node(s)`);
    expect(String(outcome['note'])).toContain(
      'Then the workers kubelets, in the patching sliding window: Succeeded (every planned node was patched); 3 planned',
    );
  });

  it("fails the upgrade with a message naming the workers' run when it fails; the control plane stays upgraded", async () => {
    const { workers, api, run } = world();
    // two failures: past the default error budget (1), so the nested run fails
    workers.node(0).patchFails = true;
    workers.node(1).patchFails = true;

    const r = await run();

    expect(r.status).toBe('FAILED');
    expect(r.children.map((c) => [c.workflow, c.status])).toEqual([
      ['etcd-backup', 'SUCCEEDED'],
      ['patch-workers', 'FAILED'],
    ]);
    expect(r.error?.Error).toBe('KubeletUpgradeFailed');
    expect(r.error?.Cause).toContain(
      `The control plane is upgraded to ${TO}, but the workers kubelet upgrade (the nested patch-workers run) failed with States.TaskFailed`,
    );
    expect(r.error?.Cause).toContain('PatchRunFailed');
    expect(r.error?.Cause).toContain('docs/runbooks/upgrade-control-plane.md#the-workers-kubelets');
    expect(Object.values(api)).toEqual([TO, TO, TO]);
    expect(workers.lock.holder(CLUSTER)).toBeUndefined();
    expect(workers.lock.holder(CLUSTER, 'workers')).toBeUndefined();
    expect(workers.outcomes.published.at(-1)).toMatchObject({
      workflow: 'upgrade-control-plane',
      outcome: 'Failed',
      error: { Error: 'KubeletUpgradeFailed' },
    });
  });

  it('fails the upgrade when a worker failed within the error budget, naming the worker', async () => {
    const { workers, run } = world();
    workers.node(2).patchFails = true;

    const r = await run();

    expect(r.status).toBe('FAILED');
    expect(r.children.map((c) => c.status)).toEqual(['SUCCEEDED', 'SUCCEEDED']);
    expect(r.error?.Error).toBe('KubeletUpgradeFailed');
    expect(r.error?.Cause).toContain(
      `The control plane is upgraded to ${TO}, but not every worker kubelet is`,
    );
    expect(r.error?.Cause).toContain(workers.node(2).name);
    expect(workers.lock.holder(CLUSTER, 'workers')).toBeUndefined();
  });

  it.each([
    ['the input says workers: false', { workers: false }, {}],
    ["the cluster's upgrade.workers is false", {}, { workers: false }],
  ] as const)("leaves the workers' kubelets when %s", async (_what, input, block) => {
    const { workers, run } = world(block);

    const r = await run(input);

    expect(r.status).toBe('SUCCEEDED');
    expect(r.children.map((c) => c.workflow)).toEqual(['etcd-backup']);
    expect(kubeletCommands(workers)).toEqual([]);
    for (const n of workers.nodes.values()) expect(n.kubeletVersion).toBe(FROM);
    expect(String(workers.outcomes.published.at(-1)!['note'])).toContain(
      'The workers kubelets were left as they are',
    );
  });
});
