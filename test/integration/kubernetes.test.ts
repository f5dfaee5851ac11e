/**
 * The sandbox's Kubernetes control plane is the real one: kube-apiserver ×3 on a 3-member TLS
 * etcd 3.6 behind the load balancer, kube-controller-manager, kube-scheduler and KWOK kubelets.
 * What Caretaker relies on is proven against it: Node objects that map to instances, backups
 * that hold real objects, and `kubectl drain` through the real eviction API and PDBs.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_CONF, KubectlError, runKubectl } from '../../sandbox/kubernetes';
import { WORKLOAD } from '../../sandbox/kubernetes-workload';
import { residentBytes } from '../../sandbox/processes';
import {
  getText,
  isAlive,
  startTestCluster,
  takeSnapshot,
  TEST_CLUSTER,
  type TestCluster,
} from '../support/kubernetes-cluster';

jest.setTimeout(300_000);

let t: TestCluster;
// shorthands for the one cluster of this file
let k8s: TestCluster['k8s'];
let etcd: TestCluster['etcd'];
let nodes: TestCluster['nodes'];

interface Pod {
  metadata: {
    name: string;
    namespace: string;
    labels?: Record<string, string>;
    ownerReferences?: { kind: string }[];
    deletionTimestamp?: string;
  };
  spec: { nodeName?: string };
  status: { phase?: string };
}

async function podsOn(node: string): Promise<Pod[]> {
  const list = await k8s.getJson<{ items: Pod[] }>(['pods', '-A', `--field-selector=spec.nodeName=${node}`]);
  return list.items.filter((p) => !p.metadata.deletionTimestamp);
}

const owner = (p: Pod) => p.metadata.ownerReferences?.[0]?.kind ?? 'none';
/** namespace/app: which workload a pod belongs to */
const label = (p: Pod) => `${p.metadata.namespace}/${p.metadata.labels?.app ?? p.metadata.name}`;

beforeAll(async () => {
  t = await startTestCluster('kubernetes-test');
  ({ k8s, etcd, nodes } = t);
});

afterAll(async () => {
  await t?.stop();
  for (const pid of t?.pids ?? []) expect(isAlive(pid)).toBe(false);
});

describe('the control plane on a 3-member etcd 3.6', () => {
  it('runs one kube-apiserver per etcd member, each in the load balancer, within 1.5 GiB with its etcd', async () => {
    expect(k8s.apiServers.map((a) => [a.node.name, a.url.startsWith('https://127.0.0.1:')])).toEqual([
      ['control-plane-1', true],
      ['control-plane-2', true],
      ['control-plane-3', true],
    ]);
    // registered as each answered /readyz, in whatever order that was
    expect([...k8s.loadBalancer.registered].sort()).toEqual(
      nodes.filter((n) => n.role === 'control-plane').map((n) => n.instanceId),
    );
    expect(k8s.version).toBe(k8s.binaries.version);
    const status = await etcd.client().status();
    expect(status.map((s) => s.version.split('.').slice(0, 2).join('.'))).toEqual(['3.6', '3.6', '3.6']);
    const rss = k8s.memory().totalBytes + etcd.pids.reduce((sum, pid) => sum + residentBytes(pid), 0);
    expect(rss).toBeLessThan(1.5 * 2 ** 30);
  });

  it('has every node Ready through KWOK, named as the fleet names it, with its instance in spec.providerID', async () => {
    const summaries = await k8s.nodeSummaries();

    expect(summaries).toEqual(
      nodes.map((n) => ({
        name: n.name,
        ready: true,
        unschedulable: false,
        roles: n.role === 'control-plane' ? ['control-plane'] : [],
        kubeletVersion: k8s.version,
        providerID: `aws:///eu-west-1a/${n.instanceId}`,
      })),
    );
    // the node-lifecycle controller sees the KWOK heartbeats (leases) and taints nothing
    const taints = await k8s.kubectl([
      'get',
      'nodes',
      '-o',
      'jsonpath={range .items[*]}{.metadata.name}={.spec.taints[*].key}{"\\n"}{end}',
    ]);
    expect(taints.trim().split('\n').sort()).toEqual([
      'control-plane-1=node-role.kubernetes.io/control-plane',
      'control-plane-2=node-role.kubernetes.io/control-plane',
      'control-plane-3=node-role.kubernetes.io/control-plane',
      'worker-1=',
      'worker-2=',
    ]);
  });

  it("gives each control-plane node kubeadm's admin.conf, as kubernetes-admin in kubeadm:cluster-admins", async () => {
    for (const n of nodes) expect(existsSync(join(n.root, ADMIN_CONF))).toBe(n.role === 'control-plane');
    const whoami = JSON.parse(
      await runKubectl(k8s.binaries.kubectl, join(nodes[1]!.root, ADMIN_CONF), [
        'auth',
        'whoami',
        '-o',
        'json',
      ]),
    ) as { status: { userInfo: { username: string; groups: string[] } } };

    expect(whoami.status.userInfo.username).toBe('kubernetes-admin');
    expect(whoami.status.userInfo.groups).toContain('kubeadm:cluster-admins');
    expect(await k8s.kubectl(['auth', 'can-i', 'create', 'pods/eviction', '-A'])).toBe('yes\n');
  });

  it('keeps serving through the load balancer while an API server is out of it', async () => {
    await k8s.deregisterApiServer('control-plane-1');
    try {
      expect(k8s.loadBalancer.registered).toHaveLength(2);
      const out = await k8s.kubectl(['get', 'nodes', '-o', 'name']);
      expect(out.trim().split('\n')).toHaveLength(nodes.length);
    } finally {
      k8s.registerApiServer('control-plane-1');
    }
    expect(k8s.loadBalancer.registered).toHaveLength(3);
  });

  it('runs the seeded workload: PDBs, a DaemonSet pod on every node, an emptyDir pod and a bare pod on worker-1', async () => {
    const pdbs = await k8s.getJson<{
      items: { metadata: { namespace: string; name: string }; status: { disruptionsAllowed: number } }[];
    }>(['pdb', '-A']);
    expect(
      Object.fromEntries(
        pdbs.items.map((p) => [`${p.metadata.namespace}/${p.metadata.name}`, p.status.disruptionsAllowed]),
      ),
    ).toEqual({
      [`${WORKLOAD.noDisruption.namespace}/${WORKLOAD.noDisruption.deployment}`]: 0,
      [`${WORKLOAD.oneAtATime.namespace}/${WORKLOAD.oneAtATime.deployment}`]: 1,
    });
    const ds = await k8s.getJson<{ status: { numberReady: number } }>([
      'daemonset',
      '-n',
      WORKLOAD.daemonSet.namespace,
      WORKLOAD.daemonSet.name,
    ]);
    expect(ds.status.numberReady).toBe(nodes.length);

    const onWorker1 = await podsOn('worker-1');
    expect(onWorker1.every((p) => p.status.phase === 'Running')).toBe(true);
    expect(new Set(onWorker1.map(label))).toEqual(
      new Set([
        'payments/payments-api',
        'shop/storefront',
        'shop/cart-cache',
        'monitoring/node-exporter',
        'ops/toolbox',
      ]),
    );
    expect(onWorker1.filter((p) => owner(p) === 'none').map((p) => p.metadata.name)).toEqual([
      WORKLOAD.barePod.name,
    ]);
  });
});

describe('backups of the real cluster', () => {
  let manifest: { key: string; revision: number; keyCounts: Record<string, number>; totalKeys: number };
  let snapshotKey: string;

  beforeAll(async () => {
    const run = await takeSnapshot(t);
    snapshotKey = run.result!.key as string;
    manifest = JSON.parse(await getText(t, run.result!.manifestKey as string)) as typeof manifest;
  });

  it('count per resource what the API server stores: pods, namespaces, leases, events', async () => {
    const pods = await k8s.getJson<{ items: unknown[] }>(['pods', '-A']);
    const namespaces = await k8s.getJson<{ items: unknown[] }>(['namespaces']);
    const nodeLeases = await k8s.getJson<{ items: unknown[] }>(['leases', '-n', 'kube-node-lease']);

    expect(manifest.keyCounts.pods).toBe(pods.items.length);
    expect(manifest.keyCounts.namespaces).toBe(namespaces.items.length);
    expect(manifest.keyCounts.minions).toBe(nodes.length); // Nodes are stored as /registry/minions
    expect(manifest.keyCounts.leases).toBeGreaterThanOrEqual(nodeLeases.items.length);
    expect(manifest.keyCounts.events).toBeGreaterThan(0);
    expect(manifest.keyCounts.poddisruptionbudgets).toBe(2);
    expect(snapshotKey).toMatch(new RegExp(`^${TEST_CLUSTER}/etcd/.*-r${manifest.revision}\\.db$`));
  });

  it('hold the objects as the API server wrote them (protobuf, "k8s\\0" magic)', async () => {
    const [first] = (
      await etcd.client().run(['get', '/registry/pods/', '--prefix', '--keys-only', '--limit=1'])
    )
      .split('\n')
      .filter(Boolean);
    const out = JSON.parse(await etcd.client().run(['get', first!, '-w', 'json'])) as {
      kvs: { value: string }[];
    };
    const value = Buffer.from(out.kvs[0]!.value, 'base64');

    expect(value.subarray(0, 4)).toEqual(Buffer.from('k8s\0', 'binary'));
  });
});

describe('kubectl drain of worker-1 through the real eviction API', () => {
  let drain: { code: number | null; stdout: string; stderr: string; ms: number };
  let before: Pod[];
  let after: Pod[];

  beforeAll(async () => {
    before = await podsOn('worker-1');
    const started = Date.now();
    try {
      const stdout = await k8s.kubectl(
        ['drain', 'worker-1', '--ignore-daemonsets', '--delete-emptydir-data', '--force', '--timeout=25s'],
        { timeoutMs: 90_000 },
      );
      drain = { code: 0, stdout, stderr: '', ms: Date.now() - started };
    } catch (err) {
      if (!(err instanceof KubectlError)) throw err;
      drain = { code: err.exitCode, stdout: err.stdout, stderr: err.stderr, ms: Date.now() - started };
    }
    after = await podsOn('worker-1');
  });

  it('is blocked by the no-disruption PDB until its timeout, naming the pod', () => {
    expect(drain.code).toBe(1);
    expect(drain.ms).toBeGreaterThanOrEqual(25_000);
    expect(drain.stderr).toContain('global timeout reached: 25s');
    expect(drain.stdout + drain.stderr).toMatch(
      /Cannot evict pod as it would violate the pod's disruption budget/,
    );
    const blocked = before.find((p) => label(p) === 'payments/payments-api')!;
    expect(drain.stderr).toContain(blocked.metadata.name);
  });

  it('evicts the rest, keeps the DaemonSet pod, and the evicted Deployment pods run again elsewhere', async () => {
    // the drain's output comes with the pods left, so a failure shows what kubectl did
    expect({ left: after.map(label).sort(), drain: `${drain.stdout}\n${drain.stderr}` }).toMatchObject({
      left: ['monitoring/node-exporter', 'payments/payments-api'],
    });
    expect(drain.stdout).toMatch(/evicting pod shop\/storefront-/);
    expect(drain.stdout).toMatch(/evicting pod shop\/cart-cache-/);
    expect(drain.stdout).toMatch(/evicting pod ops\/toolbox/);
    expect(drain.stderr).toMatch(/Warning: ignoring DaemonSet-managed Pods: monitoring\/node-exporter-/);

    const storefront = await k8s.getJson<{ status: { readyReplicas: number } }>([
      'deployment',
      '-n',
      WORKLOAD.oneAtATime.namespace,
      WORKLOAD.oneAtATime.deployment,
    ]);
    expect(storefront.status.readyReplicas).toBe(WORKLOAD.oneAtATime.replicas);
    const [worker1] = (await k8s.nodeSummaries()).filter((n) => n.name === 'worker-1');
    expect(worker1).toMatchObject({ ready: true, unschedulable: true });
    // the bare pod had no controller: it is gone for good
    await expect(
      k8s.kubectl(['get', 'pod', '-n', WORKLOAD.barePod.namespace, WORKLOAD.barePod.name]),
    ).rejects.toThrow(/NotFound/);
  });

  it('uncordon brings worker-1 back into scheduling', async () => {
    await k8s.kubectl(['uncordon', 'worker-1']);

    const [worker1] = (await k8s.nodeSummaries()).filter((n) => n.name === 'worker-1');
    expect(worker1).toMatchObject({ ready: true, unschedulable: false });
  });
});
