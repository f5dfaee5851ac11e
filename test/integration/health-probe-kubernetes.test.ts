/**
 * The health probe's Kubernetes half against a real control plane: three kube-apiservers (one per
 * control-plane node, behind the sandbox's load balancer) on a real etcd, KWOK playing the
 * kubelets. The real health-probe.sh asks the API for the Nodes and each control-plane node's
 * own API server for /readyz; its result then goes through the probe Lambda's service into the
 * embedded-metric-format line, whose names and dimensions must be the catalog's.
 */
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { runHealthProbe } from '../../functions/health-probe/service';
import { emfMetricSink } from '../../functions/shared/adapters/aws/emf-metric-sink';
import { parseConfig } from '../../functions/shared/domain/config';
import { probeResult, type ProbeResult } from '../../functions/shared/domain/commands/health-probe';
import { PATCHED_AT_ANNOTATION } from '../../functions/shared/domain/commands/kubernetes-access';
import { HEALTH_METRICS, METRICS_NAMESPACE } from '../../functions/shared/domain/metrics';
import { freePorts } from '../../sandbox/etcd-cluster';
import { stopProcess } from '../../sandbox/processes';
import { runScript } from '../../sandbox/run-script';
import { fakeRunner, fixedClock, memoryStore, staticDirectory, staticInventory } from '../support/fakes';
import {
  etcd36,
  explain,
  isAlive,
  startTestCluster,
  TEST_CLUSTER,
  type TestCluster,
} from '../support/kubernetes-cluster';

// a loaded machine: etcd, three API servers, controller-manager, KWOK
jest.setTimeout(300_000);

let t: TestCluster;

beforeAll(async () => {
  t = await startTestCluster('probe-k8s');
}, 600_000);

afterAll(async () => {
  const pids = t?.pids ?? [];
  await t?.stop();
  for (const pid of pids) expect(isAlive(pid)).toBe(false);
});

/** each control-plane node's own API server: they share 127.0.0.1, each on its own port */
const apiUrls = () => t.k8s.apiServers.map((a) => `${a.node.name}=${a.url}`).join(' ');

interface ProbeOptions {
  kubeconfig?: string;
  env?: Record<string, string>;
}

async function probeRun(options: ProbeOptions = {}) {
  return runScript('health-probe', {
    params: {
      EtcdPort: String(t.etcd.member(0).clientPort),
      CaFile: t.pki.ca.cert,
      CertFile: t.pki.healthcheckClient.cert,
      KeyFile: t.pki.healthcheckClient.key,
      EtcdctlMode: 'host',
      EtcdManager: 'none',
      Kubeconfig: options.kubeconfig ?? t.k8s.kubeconfig,
      ApiServerPort: '6443',
    },
    instanceId: t.nodes[0]!.instanceId,
    pathPrepend: [etcd36.binDir, t.k8s.binaries.binDir],
    env: {
      CARETAKER_WORK_DIR: await mkdtemp(join(t.root, 'probe-')),
      CARETAKER_APISERVER_URLS: apiUrls(),
      ...options.env,
    },
    timeoutMs: 120_000,
  });
}

async function probe(options: ProbeOptions = {}): Promise<ProbeResult> {
  const run = await probeRun(options);
  if (run.exitCode !== 0 || !run.result) throw new Error(explain(run));
  return probeResult.parse(run.result);
}

/**
 * The probe Lambda's service with the real script behind its command runner: what it sends is
 * answered by health-probe.sh run here (the document's parameters are the sandbox's, not the
 * production defaults the plan carries). Returns the EMF line it wrote and the log fields.
 */
async function probeThroughTheLambda(options: ProbeOptions = {}) {
  const runner = fakeRunner();
  const lines: string[] = [];
  const logged: Record<string, unknown>[] = [];
  const clock = fixedClock(new Date().toISOString());
  const [cluster] = parseConfig({
    clusters: [{ name: TEST_CLUSTER, kind: 'kubeadm', region: 'eu-west-1' }],
  }).clusters;
  const out = await runHealthProbe(
    { cluster: TEST_CLUSTER },
    {
      clusters: staticDirectory([cluster!]),
      inventory: staticInventory([{ instanceId: t.nodes[0]!.instanceId }]),
      runner: {
        ...runner,
        async send(req) {
          const sent = await runner.send(req);
          const run = await probeRun(options);
          runner.finish(sent.commandId, req.instanceId, {
            status: run.exitCode === 0 ? 'Success' : 'Failed',
            exitCode: run.exitCode ?? -1,
            stdout: run.stdout,
            stderr: run.stderr,
          });
          return sent;
        },
      },
      documents: { 'health-probe': 'Caretaker-HealthProbe' },
      store: memoryStore(),
      metrics: emfMetricSink((l) => lines.push(l), clock),
      clock,
      sleep: async () => undefined,
      log: (_m, f) => logged.push(f),
    },
  );
  expect(lines).toHaveLength(1);
  const emf = JSON.parse(lines[0]!) as Record<string, unknown> & {
    _aws: {
      CloudWatchMetrics: {
        Namespace: string;
        Dimensions: string[][];
        Metrics: { Name: string; Unit: string }[];
      }[];
    };
  };
  return { out, emf, fields: logged[0]! };
}

/** the catalogued metrics of an EMF line, checked against the catalog: name → value */
function publishedMetrics(emf: Awaited<ReturnType<typeof probeThroughTheLambda>>['emf']) {
  const published: Record<string, unknown> = {};
  for (const group of emf._aws.CloudWatchMetrics) {
    expect(group.Namespace).toBe(METRICS_NAMESPACE);
    expect(group.Dimensions).toEqual([['cluster']]);
    for (const m of group.Metrics) {
      const def = HEALTH_METRICS[m.Name as keyof typeof HEALTH_METRICS];
      expect(def).toBeDefined();
      expect(m.Unit).toBe(def.unit);
      expect([...def.dimensions]).toEqual(['cluster']);
      published[m.Name] = emf[m.Name];
    }
  }
  expect(emf.cluster).toBe(TEST_CLUSTER);
  return published;
}

describe('health-probe.sh against a real kube-apiserver and KWOK', () => {
  it("sees every Node Ready and every control-plane node's own API server ready", async () => {
    const r = await probe();

    expect(r.kubernetes).toMatchObject({ error: '', nodesTotal: 5, notReady: [], diskPressure: [] });
    expect(r.kubernetes!.apiServers.map((a) => [a.node, a.ready]).sort()).toEqual([
      ['control-plane-1', true],
      ['control-plane-2', true],
      ['control-plane-3', true],
    ]);
    // the workers, none patched by Caretaker yet; control-plane nodes are not workers
    expect(r.kubernetes!.workers.map((w) => [w.node, w.patchedAt]).sort()).toEqual([
      ['worker-1', ''],
      ['worker-2', ''],
    ]);
    expect(r.etcd.membersTotal).toBe(3);
  });

  it('reads the patch time node-record wrote on a worker', async () => {
    const at = '2026-11-01T02:03:04Z';
    await t.k8s.kubectl(['annotate', 'node', 'worker-1', `${PATCHED_AT_ANNOTATION}=${at}`, '--overwrite']);
    try {
      const r = await probe();
      expect(r.kubernetes!.workers.find((w) => w.node === 'worker-1')).toEqual({
        node: 'worker-1',
        patchedAt: at,
      });
      const { fields } = await probeThroughTheLambda();
      expect(fields).toMatchObject({ workersNeverPatched: 1 });
      expect(String(fields.workerPatchDays)).toMatch(/^worker-2=never worker-1=\d+(\.\d)?$/);
    } finally {
      await t.k8s.kubectl(['annotate', 'node', 'worker-1', `${PATCHED_AT_ANNOTATION}-`]);
    }
  });

  it('counts a worker whose kubelet stopped posting as NotReady, and the Lambda publishes NodesNotReady 1', async () => {
    await t.k8s.nodeDown('worker-2');
    try {
      const r = await probe();
      expect(r.kubernetes).toMatchObject({ error: '', nodesTotal: 5, notReady: ['worker-2'] });

      const { out, emf, fields } = await probeThroughTheLambda();
      expect(out).toMatchObject({ probed: true, problem: '' });
      const published = publishedMetrics(emf);
      expect(published).toMatchObject({
        NodesNotReady: 1,
        ApiServersNotReady: 0,
        EtcdMembersUnhealthy: 0,
        EtcdAlarmsRaised: 0,
      });
      expect(Object.keys(published).sort()).toEqual(
        [
          'ApiServersNotReady',
          'EtcdAlarmsRaised',
          'EtcdDbUsedPercent',
          'EtcdMembersUnhealthy',
          'EtcdRaftTerm',
          'NodesNotReady',
        ].sort(),
      );
      expect(fields).toMatchObject({ nodesNotReady: ['worker-2'], apiServersNotReady: [] });
    } finally {
      await t.k8s.nodeUp('worker-2', 'boot-after-probe-test');
    }
    expect((await probe()).kubernetes!.notReady).toEqual([]);
  });

  it("counts the API through a kubeconfig that answers nowhere as not ready, asks this node's own server, and does not crash", async () => {
    const [closed] = await freePorts(1);
    const kubeconfig = join(t.root, 'nowhere.conf');
    const text = await readFile(t.k8s.kubeconfig, 'utf8');
    await writeFile(
      kubeconfig,
      text.replace(/server: https:\/\/[^\s]+/, `server: https://127.0.0.1:${closed}`),
      {
        mode: 0o600,
      },
    );
    const own = t.k8s.apiServers[0]!;

    const r = await probe({ kubeconfig, env: { CARETAKER_APISERVER_URL: own.url } });
    expect(r.kubernetes!.error).toMatch(/^kubectl get nodes failed: /);
    expect(r.kubernetes!.nodesTotal).toBe(0);
    // this node's own API server answers: it is the way to the API that does not
    expect(r.kubernetes!.apiServers).toEqual([expect.objectContaining({ address: own.url, ready: true })]);
    // etcd is still probed
    expect(r.etcd.membersTotal).toBe(3);

    const { out, emf, fields } = await probeThroughTheLambda({
      kubeconfig,
      env: { CARETAKER_APISERVER_URL: own.url },
    });
    expect(out.probed).toBe(true);
    const published = publishedMetrics(emf);
    expect(published.ApiServersNotReady).toBe(1);
    // the Nodes are unknown: no value rather than a false 0
    expect(published).not.toHaveProperty('NodesNotReady');
    expect(fields.kubernetesError).toMatch(/^kubectl get nodes failed: /);
  });

  it('counts a stopped API server as not ready while the others answer', async () => {
    const api = t.k8s.apiServers.find((a) => a.node.name === 'control-plane-2')!;
    await t.k8s.deregisterApiServer('control-plane-2');
    await stopProcess(api.process, 3000);

    const r = await probe();
    expect(r.kubernetes!.error).toBe('');
    expect(r.kubernetes!.apiServers.map((a) => [a.node, a.ready]).sort()).toEqual([
      ['control-plane-1', true],
      ['control-plane-2', false],
      ['control-plane-3', true],
    ]);
    const { emf, fields } = await probeThroughTheLambda();
    expect(publishedMetrics(emf)).toMatchObject({ ApiServersNotReady: 1, NodesNotReady: 0 });
    expect(fields).toMatchObject({ apiServersNotReady: ['control-plane-2'] });
  });

  it('counts the API as not ready when every API server is stopped, and still reports etcd', async () => {
    for (const api of t.k8s.apiServers) {
      if (!isAlive(api.process.pid)) continue;
      await t.k8s.deregisterApiServer(api.node.name);
      await stopProcess(api.process, 3000);
    }
    const own = t.k8s.apiServers[0]!;

    const { out, emf, fields } = await probeThroughTheLambda({ env: { CARETAKER_APISERVER_URL: own.url } });
    expect(out).toMatchObject({ probed: true, problem: '' });
    const published = publishedMetrics(emf);
    expect(published.ApiServersNotReady).toBe(1);
    expect(published).not.toHaveProperty('NodesNotReady');
    expect(published.EtcdMembersUnhealthy).toBe(0);
    expect(fields.kubernetesError).toMatch(/^kubectl get nodes failed: /);
    expect(fields.apiServersNotReady).toHaveLength(1);
  });
});
