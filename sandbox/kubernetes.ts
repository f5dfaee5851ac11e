/**
 * A real Kubernetes control plane on the sandbox's etcd, on 127.0.0.1 only: one kube-apiserver
 * per control-plane node (kubeadm's stacked layout: each talks to its own etcd member), a TCP
 * load balancer in front of them, kube-controller-manager, kube-scheduler, and KWOK playing the
 * kubelets of every node. Node objects carry the LocalFleet's names and instance ids, and each
 * control-plane node gets the admin kubeconfig where kubeadm writes it. Every process is tracked
 * and stopped by its PID.
 */
import { execFile, execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { accessSync, constants, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { request } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { freePorts, type EtcdCluster } from './etcd-cluster';
import { TcpLoadBalancer } from './load-balancer';
import { generateKubernetesPki, type CertPair, type ClientIdentity, type KubernetesPki } from './pki';
import { isAlive, logTail, residentBytes, startProcess, stopProcess, type ServerProcess } from './processes';
import { workloadManifest } from './kubernetes-workload';

const BUILD_SCRIPT = resolve(__dirname, '..', 'tools', 'build.sh');

/** the annotation KWOK is told to look for: nodes carrying it are played by KWOK */
export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
export const CONTROL_PLANE_ROLE_LABEL = 'node-role.kubernetes.io/control-plane';
/** where a kubeadm control-plane node keeps its admin kubeconfig, under the node's root */
export const ADMIN_CONF = 'etc/kubernetes/admin.conf';
const AVAILABILITY_ZONE = 'eu-west-1a';

/** the binaries tools/build.sh builds from k8s.io/kubernetes and sigs.k8s.io/kwok */
export interface KubernetesBinaries {
  /** the release, from the cache directory's name: `v1.37.2` */
  version: string;
  /** kube-apiserver, kube-controller-manager, kube-scheduler and kubectl: what nodes get on PATH */
  binDir: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubectl: string;
  kwok: string;
  /** KWOK's default stages (node heartbeat, pod ready/complete/delete), written by the build */
  kwokStages: string;
}

export function kubernetesBinaries(): KubernetesBinaries {
  const dir = (component: string) =>
    execFileSync('bash', [BUILD_SCRIPT, '--print-dir', component], { encoding: 'utf8' }).trim();
  const binDir = dir('kubernetes');
  const kwokDir = dir('kwok');
  return {
    version: /kubernetes-(v[^/]+)\/bin$/.exec(binDir)?.[1] ?? 'unknown',
    binDir,
    kubeApiserver: join(binDir, 'kube-apiserver'),
    kubeControllerManager: join(binDir, 'kube-controller-manager'),
    kubeScheduler: join(binDir, 'kube-scheduler'),
    kubectl: join(binDir, 'kubectl'),
    kwok: join(kwokDir, 'kwok'),
    kwokStages: join(kwokDir, 'kwok-stages.yaml'),
  };
}

/** the files of `b` that are not there, each with the command that builds it */
export function missingKubernetesBinaries(
  b: KubernetesBinaries,
  isMissing: (path: string) => boolean = notThere,
): { path: string; remedy: string }[] {
  const k8s = 'bash tools/build.sh kubernetes (needs Go, once per version)';
  const kwok = 'bash tools/build.sh kwok (needs Go, once per version)';
  return [
    { path: b.kubeApiserver, remedy: k8s },
    { path: b.kubeControllerManager, remedy: k8s },
    { path: b.kubeScheduler, remedy: k8s },
    { path: b.kubectl, remedy: k8s },
    { path: b.kwok, remedy: kwok },
    { path: b.kwokStages, remedy: kwok },
  ].filter((f) => isMissing(f.path));
}

function notThere(path: string): boolean {
  try {
    accessSync(path, constants.R_OK);
    return false;
  } catch {
    return true;
  }
}

/** a machine of the cluster as the sandbox names it */
export interface KubeNode {
  /** the Node object's name: control-plane-1, worker-1, … (the LocalFleet's names) */
  name: string;
  instanceId: string;
  role: 'control-plane' | 'worker';
  /** the node's root directory: its admin kubeconfig goes to `<root>/etc/kubernetes/admin.conf` */
  root: string;
  /** `aws:///<az>/<instance-id>`; default in eu-west-1a */
  providerID?: string;
  /** the boot id its kubelet reports; default a fresh one */
  bootId?: string;
}

export interface StartKubernetesOptions {
  /** the cluster's etcd; control-plane node i runs its API server on member i */
  etcd: EtcdCluster;
  /** every node, control-plane nodes first (one per etcd member), then workers */
  nodes: readonly KubeNode[];
  /** where certificates, kubeconfigs and logs go */
  dir: string;
  binaries?: KubernetesBinaries;
  /** seed the workload of sandbox/kubernetes-workload.ts, default true */
  workload?: boolean;
  /** how long start-up may take before it fails, default 180 s */
  timeoutMs?: number;
  /** the version the kubelets report at first, default the API server's (a sandbox upgrade starts older) */
  kubeletVersion?: string;
}

/** how long each phase of start-up took, in ms */
export interface StartupTimings {
  pki: number;
  /** from starting the API servers until all answer /readyz */
  apiServers: number;
  /** controller-manager, scheduler and KWOK started, Node objects created, all nodes Ready */
  nodesReady: number;
  /** the seeded workload created and every pod of it Running and Ready */
  workload: number;
  total: number;
}

export interface ApiServer {
  /** the control-plane node it runs on */
  node: KubeNode;
  port: number;
  /** https://127.0.0.1:<port>, the server itself (the load balancer is {@link KubernetesCluster.url}) */
  url: string;
  process: ServerProcess;
  /** its command line, to start it again the same way (restartApiServer) */
  args: readonly string[];
}

export interface NodeSummary {
  name: string;
  ready: boolean;
  unschedulable: boolean;
  roles: string[];
  kubeletVersion: string;
  providerID: string;
}

export interface KubectlOptions {
  /** written to kubectl's stdin */
  input?: string;
  /** killed after this long, default 60 s */
  timeoutMs?: number;
  /** another kubeconfig than the admin one */
  kubeconfig?: string;
}

/** kubectl's failure: its exit code and stderr */
export class KubectlError extends Error {
  override readonly name = 'KubectlError';
  constructor(
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`kubectl ${args.join(' ')} failed (exit ${exitCode}): ${stderr.trim() || stdout.trim()}`);
  }
}

/**
 * The running control plane. Start it with {@link startKubernetes}; always `await stop()`.
 */
export class KubernetesCluster {
  readonly processes: ServerProcess[] = [];
  readonly apiServers: ApiServer[] = [];
  startup: StartupTimings = { pki: 0, apiServers: 0, nodesReady: 0, workload: 0, total: 0 };
  /** the API server's version, from /version */
  version = '';

  private constructor(
    readonly dir: string,
    readonly pki: KubernetesPki,
    readonly binaries: KubernetesBinaries,
    readonly loadBalancer: TcpLoadBalancer,
    readonly nodes: readonly KubeNode[],
  ) {}

  /** the admin kubeconfig (kubeadm's admin.conf), pointing at the load balancer */
  get kubeconfig(): string {
    return join(this.dir, 'admin.conf');
  }

  /** the API through the load balancer */
  get url(): string {
    return this.loadBalancer.url;
  }

  /** PIDs of the processes still running */
  get pids(): number[] {
    return this.processes.filter(isAlive).map((p) => p.pid);
  }

  /** resident memory of every process still running, by name, and the sum */
  memory(): { processes: { name: string; pid: number; bytes: number }[]; totalBytes: number } {
    const processes = this.processes
      .filter(isAlive)
      .map((p) => ({ name: p.name, pid: p.pid, bytes: residentBytes(p.pid) }));
    return { processes, totalBytes: processes.reduce((sum, p) => sum + p.bytes, 0) };
  }

  /**
   * Runs the real kubectl with the admin kubeconfig and returns its stdout.
   * @throws KubectlError when kubectl exits non-zero or runs out of time.
   */
  kubectl(args: readonly string[], options: KubectlOptions = {}): Promise<string> {
    return runKubectl(this.binaries.kubectl, options.kubeconfig ?? this.kubeconfig, args, options);
  }

  /** `kubectl get … -o json`, parsed */
  async getJson<T>(args: readonly string[]): Promise<T> {
    return JSON.parse(await this.kubectl(['get', ...args, '-o', 'json'])) as T;
  }

  /** every Node: Ready, cordoned, roles, kubelet version */
  async nodeSummaries(): Promise<NodeSummary[]> {
    const list = await this.getJson<{ items: NodeObject[] }>(['nodes']);
    return list.items.map(summarizeNode).sort((a, b) => a.name.localeCompare(b.name));
  }

  /** registers the API server of `node` with the load balancer again (ELBv2 RegisterTargets) */
  registerApiServer(nodeName: string): void {
    const api = this.apiServer(nodeName);
    this.loadBalancer.register({ id: api.node.instanceId, host: '127.0.0.1', port: api.port });
  }

  /** takes the API server of `node` out of the load balancer (ELBv2 DeregisterTargets) */
  deregisterApiServer(nodeName: string, drainMs = 0): Promise<void> {
    return this.loadBalancer.deregister(this.apiServer(nodeName).node.instanceId, drainMs);
  }

  /**
   * The node's machine went down (a reboot): its kubelet stops posting status. KWOK stops
   * playing it (the annotation it selects on is removed) and the Ready condition turns Unknown,
   * as the node-lifecycle controller sets it when the heartbeats stop.
   * @throws KubectlError
   */
  async nodeDown(name: string): Promise<void> {
    await this.kubectl(['annotate', 'node', name, `${KWOK_NODE_ANNOTATION}-`, '--overwrite']);
    const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await this.kubectl([
      'patch',
      'node',
      name,
      '--subresource=status',
      '--type=strategic',
      '-p',
      JSON.stringify({
        status: {
          conditions: [
            {
              type: 'Ready',
              status: 'Unknown',
              reason: 'NodeStatusUnknown',
              message: 'Kubelet stopped posting node status.',
              lastHeartbeatTime: now,
              lastTransitionTime: now,
            },
          ],
        },
      }),
    ]);
  }

  /**
   * The node's machine is back with a new boot: its kubelet reports the new boot id and, once
   * KWOK plays it again, Ready (since now).
   * @throws KubectlError
   */
  async nodeUp(name: string, bootId: string): Promise<void> {
    await this.kubectl([
      'patch',
      'node',
      name,
      '--subresource=status',
      '--type=strategic',
      '-p',
      JSON.stringify({ status: { nodeInfo: { bootID: bootId } } }),
    ]);
    await this.kubectl(['annotate', 'node', name, `${KWOK_NODE_ANNOTATION}=fake`, '--overwrite']);
    await this.podsReadyAgain(name);
  }

  /**
   * What the kubelet of a node that is back does to its pods: while the Node was not Ready the
   * node-lifecycle controller set their Ready condition False (MarkPodsNotReady); the kubelet
   * reports them Ready again once their containers run. KWOK makes pods Ready only when they
   * start, never again, so this does it: once the Node is Ready, every running pod on it that
   * is not Ready becomes Ready, checked again a node-monitor period later for a controller that
   * marked them after the first pass.
   * @throws KubectlError, or Error when the Node is not Ready within `timeoutMs`
   */
  async podsReadyAgain(name: string, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const node = await this.getJson<NodeObject>(['node', name]);
      if (summarizeNode(node).ready) break;
      if (Date.now() > deadline) throw new Error(`Node ${name} was not Ready within ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 250));
    }
    // node-monitor-period is 5 s: a second pass after it catches a late MarkPodsNotReady
    for (const waitMs of [0, 6000]) {
      await new Promise((r) => setTimeout(r, waitMs));
      const pods = await this.getJson<{ items: PodObject[] }>([
        'pods',
        '--all-namespaces',
        `--field-selector=spec.nodeName=${name}`,
      ]);
      const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      for (const pod of pods.items) {
        const ready = pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
        if (ready || pod.metadata.deletionTimestamp || pod.status?.phase !== 'Running') continue;
        await this.kubectl([
          'patch',
          'pod',
          '-n',
          pod.metadata.namespace ?? 'default',
          pod.metadata.name ?? '',
          '--subresource=status',
          '--type=strategic',
          '-p',
          JSON.stringify({
            status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: now }] },
          }),
        ]);
      }
    }
  }

  apiServer(nodeName: string): ApiServer {
    const api = this.apiServers.find((a) => a.node.name === nodeName);
    if (!api) throw new Error(`no API server on ${nodeName}`);
    return api;
  }

  private stopping?: Promise<void>;

  /** stops every process by PID, the kubelets first and the API servers last; once */
  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      for (const proc of [...this.processes].reverse()) await stopProcess(proc, 3000);
      await this.loadBalancer.stop();
    })());
  }

  /** @internal see {@link startKubernetes} */
  static async start(options: StartKubernetesOptions): Promise<KubernetesCluster> {
    const began = Date.now();
    const binaries = options.binaries ?? kubernetesBinaries();
    const missing = missingKubernetesBinaries(binaries);
    if (missing.length > 0) {
      throw new Error(
        `Kubernetes binaries missing: ${missing.map((m) => m.path).join(', ')}; run ${[...new Set(missing.map((m) => m.remedy))].join('; ')}`,
      );
    }
    const controlPlane = options.nodes.filter((n) => n.role === 'control-plane');
    if (controlPlane.length === 0 || controlPlane.length > options.etcd.members.length) {
      throw new Error(
        `${controlPlane.length} control-plane nodes for ${options.etcd.members.length} etcd members: one API server runs per member`,
      );
    }
    const dir = options.dir;
    await mkdir(join(dir, 'logs'), { recursive: true });
    const pki = await generateKubernetesPki(join(dir, 'pki'), options.etcd.pki);
    const pkiMs = Date.now() - began;
    const lb = await TcpLoadBalancer.start();
    const cluster = new KubernetesCluster(dir, pki, binaries, lb, options.nodes);
    const deadline = began + (options.timeoutMs ?? 180_000);
    try {
      await cluster.boot(options, controlPlane, deadline);
      cluster.startup.pki = pkiMs;
      cluster.startup.total = Date.now() - began;
      return cluster;
    } catch (err) {
      await cluster.stop();
      throw err;
    }
  }

  private async boot(options: StartKubernetesOptions, controlPlane: KubeNode[], deadline: number) {
    const { pki, dir } = this;
    const ports = await freePorts(controlPlane.length + 2);
    const [controllerManagerPort, schedulerPort] = ports.slice(controlPlane.length) as [number, number];

    // kubeadm's kubeconfig files: admin.conf for people and Caretaker's node scripts,
    // super-admin.conf (system:masters) for the one binding kubeadm creates with it
    const superAdmin = join(dir, 'super-admin.conf');
    const controllerManagerConf = join(dir, 'controller-manager.conf');
    const schedulerConf = join(dir, 'scheduler.conf');
    await Promise.all([
      writeKubeconfig(this.kubeconfig, this.url, pki.ca, pki.admin),
      writeKubeconfig(superAdmin, this.url, pki.ca, pki.superAdmin),
      // kubeadm points these at the node's own API server; here one of each runs for the
      // whole cluster, so they go through the load balancer and survive an API server leaving
      writeKubeconfig(controllerManagerConf, this.url, pki.ca, pki.controllerManager),
      writeKubeconfig(schedulerConf, this.url, pki.ca, pki.scheduler),
      ...controlPlane.map(async (node) => {
        const file = join(node.root, ADMIN_CONF);
        await mkdir(dirname(file), { recursive: true });
        await writeKubeconfig(file, this.url, pki.ca, pki.admin);
      }),
    ]);

    const apiStarted = Date.now();
    for (const [i, node] of controlPlane.entries()) {
      const port = ports[i]!;
      const member = options.etcd.member(i);
      const args = apiServerArgs(pki, options.etcd, member.clientUrl, port);
      const proc = this.track(this.startApiServer(node, args));
      this.apiServers.push({ node, port, url: `https://127.0.0.1:${port}`, process: proc, args });
    }
    // the load balancer's health check: a target joins once its /readyz answers
    await Promise.all(
      this.apiServers.map(async (api) => {
        await this.waitFor(`${api.process.name} /readyz`, deadline, [api.process], async () => {
          const r = await this.get(api.url, '/readyz');
          return r.status === 200;
        });
        this.registerApiServer(api.node.name);
      }),
    );
    this.startup.apiServers = Date.now() - apiStarted;
    this.version = (
      JSON.parse((await this.get(this.url, '/version')).body) as { gitVersion: string }
    ).gitVersion;

    const nodesStarted = Date.now();
    // kubeadm init's one use of super-admin.conf: give admin.conf's group cluster-admin
    await this.kubectl(
      [
        'create',
        'clusterrolebinding',
        'kubeadm:cluster-admins',
        '--clusterrole=cluster-admin',
        '--group=kubeadm:cluster-admins',
      ],
      { kubeconfig: superAdmin },
    );
    this.track(
      startProcess(
        'kube-controller-manager',
        this.binaries.kubeControllerManager,
        controllerManagerArgs(pki, controllerManagerConf, controllerManagerPort),
        join(dir, 'logs', 'kube-controller-manager.log'),
        goMemoryLimit(MEMORY_LIMITS_MIB.controllerManager),
      ),
    );
    this.track(
      startProcess(
        'kube-scheduler',
        this.binaries.kubeScheduler,
        [
          `--kubeconfig=${schedulerConf}`,
          `--authentication-kubeconfig=${schedulerConf}`,
          `--authorization-kubeconfig=${schedulerConf}`,
          '--bind-address=127.0.0.1',
          `--secure-port=${schedulerPort}`,
          '--leader-elect=true',
        ],
        join(dir, 'logs', 'kube-scheduler.log'),
        goMemoryLimit(MEMORY_LIMITS_MIB.scheduler),
      ),
    );
    // as each kubelet registers its node: created once, with its status
    await this.kubectl(['create', '-f', '-'], {
      input: nodesManifest(options.nodes, options.kubeletVersion ?? this.version),
    });
    const stages = join(dir, 'kwok-stages.yaml');
    await writeFile(stages, kwokStages(await readFile(this.binaries.kwokStages, 'utf8')));
    this.track(
      startProcess(
        'kwok',
        this.binaries.kwok,
        [
          `--kubeconfig=${this.kubeconfig}`,
          `--config=${stages}`,
          '--manage-all-nodes=false',
          `--manage-nodes-with-annotation-selector=${KWOK_NODE_ANNOTATION}=fake`,
          // no kubelet API (logs, exec): nothing of Caretaker's uses it, and it would listen on 0.0.0.0
          '--node-port=0',
          '--server-address=',
          '--node-ip=127.0.0.1',
          // renew each Node's Lease as a kubelet does (40 s, renewed every 10 s). Without it there
          // is no Lease and the heartbeat stage posts status only every 10 to 20 minutes: the
          // node-lifecycle controller finds every Node NotReady after its grace period, marks every
          // pod Ready=False, and the DaemonSet pods never turn Ready again (patching's health gate)
          '--node-lease-duration-seconds=40',
        ],
        join(dir, 'logs', 'kwok.log'),
        // KWOK reads ~/.kwok/kwok.yaml besides --config: keep a person's own out of the sandbox
        { ...goMemoryLimit(MEMORY_LIMITS_MIB.kwok), HOME: dir },
      ),
    );
    await this.waitFor('every node Ready', deadline, this.processes, async () => {
      const nodes = await this.nodeSummaries();
      return nodes.length === options.nodes.length && nodes.every((n) => n.ready);
    });
    this.startup.nodesReady = Date.now() - nodesStarted;

    if (options.workload !== false) {
      const workloadStarted = Date.now();
      await this.seedWorkload(deadline);
      this.startup.workload = Date.now() - workloadStarted;
    }
  }

  /** the namespaces first (their default ServiceAccount must exist before a pod), then the rest */
  private async seedWorkload(deadline: number): Promise<void> {
    const { namespaces, objects, expectedPods } = workloadManifest(this.nodes);
    await this.kubectl(['apply', '-f', '-'], { input: namespaces });
    await this.waitFor('the default ServiceAccounts', deadline, this.processes, async () => {
      const list = await this.getJson<{ items: { metadata: { namespace: string } }[] }>([
        'serviceaccounts',
        '-A',
        '--field-selector=metadata.name=default',
      ]);
      const have = new Set(list.items.map((i) => i.metadata.namespace));
      return [...namespacesIn(namespaces)].every((ns) => have.has(ns));
    });
    await this.kubectl(['apply', '-f', '-'], { input: objects });
    await this.waitFor('the workload Running and Ready', deadline, this.processes, async () => {
      const pods = await this.getJson<{ items: PodObject[] }>(['pods', '-A']);
      const ready = pods.items.filter(isPodReady);
      return ready.length >= expectedPods && ready.length === pods.items.length;
    });
  }

  private startApiServer(node: KubeNode, args: readonly string[]): ServerProcess {
    return startProcess(
      `kube-apiserver ${node.name}`,
      this.binaries.kubeApiserver,
      args,
      join(this.dir, 'logs', `kube-apiserver-${node.name}.log`),
      goMemoryLimit(MEMORY_LIMITS_MIB.apiServer),
    );
  }

  /**
   * Stops the API server of `nodeName` by its PID and starts it again with the same flags, as a
   * kubelet does when kubeadm rewrites the static pod's manifest; resolves once its /readyz
   * answers again, with how long it was down in ms.
   * @throws Error with its log tail when it does not come back within `timeoutMs`
   */
  async restartApiServer(nodeName: string, timeoutMs = 90_000): Promise<number> {
    const api = this.apiServer(nodeName);
    const began = Date.now();
    await stopProcess(api.process, 3000);
    const proc = this.startApiServer(api.node, api.args);
    this.processes.splice(this.processes.indexOf(api.process), 1, proc);
    api.process = proc;
    await this.waitFor(`${proc.name} /readyz after its restart`, Date.now() + timeoutMs, [proc], async () => {
      const r = await this.get(api.url, '/readyz');
      return r.status === 200;
    });
    return Date.now() - began;
  }

  private track(proc: ServerProcess): ServerProcess {
    this.processes.push(proc);
    return proc;
  }

  /** polls `check` every 250 ms; fails fast with the log tail when one of `watch` exits */
  private async waitFor(
    what: string,
    deadline: number,
    watch: readonly ServerProcess[],
    check: () => Promise<boolean>,
  ): Promise<void> {
    let last = '';
    for (;;) {
      const dead = watch.find((p) => !isAlive(p));
      if (dead)
        throw new Error(
          `${dead.name} (pid ${dead.pid}) exited while waiting for ${what}:\n${logTail(dead.logFile)}`,
        );
      try {
        if (await check()) return;
      } catch (err) {
        last = (err as Error).message;
      }
      if (Date.now() > deadline) {
        throw new Error(
          `Kubernetes: no ${what} in time${last ? ` (last error: ${last})` : ''}; logs in ${join(this.dir, 'logs')}`,
        );
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  /** a GET with the admin client certificate, for health and version */
  private get(base: string, path: string): Promise<{ status: number; body: string }> {
    const tls = {
      ca: readFileSync(this.pki.ca.cert),
      cert: readFileSync(this.pki.admin.cert),
      key: readFileSync(this.pki.admin.key),
    };
    return new Promise((resolvePromise, reject) => {
      const req = request(`${base}${path}`, { ...tls, timeout: 5000 }, (res) => {
        let body = '';
        res.setEncoding('utf8').on('data', (c: string) => (body += c));
        res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body }));
      });
      req.on('timeout', () => req.destroy(new Error(`GET ${path} timed out`)));
      req.on('error', reject);
      req.end();
    });
  }
}

/**
 * Starts the control plane on `options.etcd`, creates the Node objects, waits until every node is
 * Ready, seeds the workload and waits until it runs.
 * @throws Error naming a missing binary, or the component that failed with its log tail; whatever
 *   was started is stopped first.
 */
export function startKubernetes(options: StartKubernetesOptions): Promise<KubernetesCluster> {
  return KubernetesCluster.start(options);
}

/**
 * KWOK's stages with the Ready condition's lastTransitionTime a kubelet would report: when the
 * node (re)joins (node-initialize), kept as it is on each heartbeat. KWOK's own stages use the
 * Node's creation time for both, which would make a node back from a reboot look Ready since
 * long before it: the patch workflow's health gate reads that time.
 * @throws Error when the stages do not have the line this replaces (a KWOK upgrade changed them)
 */
export function kwokStages(original: string): string {
  const line = '{{ $lastTransitionTime := or .metadata.creationTimestamp $now }}';
  const docs = original.split(/^---$/m);
  const changed = docs.map((doc) => {
    if (/^\s+name: node-initialize$/m.test(doc))
      return doc.replace(line, '{{ $lastTransitionTime := $now }}');
    if (/^\s+name: node-heartbeat-with-lease$/m.test(doc)) {
      return doc.replace(
        line,
        '{{ $lastTransitionTime := $now }}{{ range .status.conditions }}{{ if eq .type "Ready" }}{{ $lastTransitionTime = .lastTransitionTime }}{{ end }}{{ end }}',
      );
    }
    return doc;
  });
  const result = changed.join('---');
  if (result.split(line).length !== original.split(line).length - 2) {
    throw new Error(
      `KWOK's stages no longer have "${line}" in node-initialize and node-heartbeat-with-lease`,
    );
  }
  return result;
}

/**
 * Go's soft memory limit per component (GOMEMLIMIT): the garbage collector works harder near it
 * instead of letting the heap double, which keeps the whole control plane within its budget on a
 * laptop. A soft limit: a component that needs more still gets it.
 */
const MEMORY_LIMITS_MIB = { apiServer: 200, controllerManager: 96, scheduler: 64, kwok: 48 };

function goMemoryLimit(mib: number): NodeJS.ProcessEnv {
  return { ...process.env, GOMEMLIMIT: `${mib}MiB` };
}

/** kubeadm's kube-apiserver flags, on loopback with its own ports */
function apiServerArgs(pki: KubernetesPki, etcd: EtcdCluster, etcdUrl: string, port: number): string[] {
  return [
    '--advertise-address=127.0.0.1',
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    '--allow-privileged=true',
    '--authorization-mode=Node,RBAC',
    `--client-ca-file=${pki.ca.cert}`,
    '--enable-admission-plugins=NodeRestriction',
    '--enable-bootstrap-token-auth=true',
    `--etcd-cafile=${etcd.pki.ca.cert}`,
    `--etcd-certfile=${pki.apiserverEtcdClient.cert}`,
    `--etcd-keyfile=${pki.apiserverEtcdClient.key}`,
    `--etcd-servers=${etcdUrl}`,
    `--proxy-client-cert-file=${pki.frontProxyClient.cert}`,
    `--proxy-client-key-file=${pki.frontProxyClient.key}`,
    '--requestheader-allowed-names=front-proxy-client',
    `--requestheader-client-ca-file=${pki.frontProxyCa.cert}`,
    '--requestheader-extra-headers-prefix=X-Remote-Extra-',
    '--requestheader-group-headers=X-Remote-Group',
    '--requestheader-username-headers=X-Remote-User',
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    `--service-account-key-file=${pki.serviceAccount.pub}`,
    `--service-account-signing-key-file=${pki.serviceAccount.key}`,
    '--service-cluster-ip-range=10.96.0.0/12',
    `--tls-cert-file=${pki.apiserver.cert}`,
    `--tls-private-key-file=${pki.apiserver.key}`,
    // all three advertise 127.0.0.1 on different ports: the `kubernetes` Service's endpoints
    // (IP + one port) cannot describe that, and the lease reconciler would rewrite them forever
    '--endpoint-reconciler-type=none',
  ];
}

/** kubeadm's kube-controller-manager flags; every controller kubeadm enables */
function controllerManagerArgs(pki: KubernetesPki, kubeconfig: string, port: number): string[] {
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    '--bind-address=127.0.0.1',
    `--secure-port=${port}`,
    `--client-ca-file=${pki.ca.cert}`,
    `--requestheader-client-ca-file=${pki.frontProxyCa.cert}`,
    `--root-ca-file=${pki.ca.cert}`,
    `--service-account-private-key-file=${pki.serviceAccount.key}`,
    `--cluster-signing-cert-file=${pki.ca.cert}`,
    `--cluster-signing-key-file=${pki.ca.key}`,
    '--cluster-name=kubernetes',
    // disruption, deployment, replicaset, daemonset, node-lifecycle, serviceaccount-token, …
    '--controllers=*,bootstrapsigner,tokencleaner',
    '--leader-elect=true',
    '--use-service-account-credentials=true',
  ];
}

/** a kubeconfig with the certificates embedded, as kubeadm writes them */
async function writeKubeconfig(
  file: string,
  server: string,
  ca: CertPair,
  user: ClientIdentity,
): Promise<void> {
  const b64 = async (path: string) => (await readFile(path)).toString('base64');
  const context = `${user.user}@kubernetes`;
  const text = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- cluster:',
    `    certificate-authority-data: ${await b64(ca.cert)}`,
    `    server: ${server}`,
    '  name: kubernetes',
    'contexts:',
    '- context:',
    '    cluster: kubernetes',
    `    user: ${user.user}`,
    `  name: ${context}`,
    `current-context: ${context}`,
    'preferences: {}',
    'users:',
    `- name: ${user.user}`,
    '  user:',
    `    client-certificate-data: ${await b64(user.cert)}`,
    `    client-key-data: ${await b64(user.key)}`,
    '',
  ].join('\n');
  await writeFile(file, text, { mode: 0o600 });
}

/**
 * The Node objects a kubelet would register (kubeadm's labels and control-plane taint, the AWS
 * provider id), annotated for KWOK. The status is what the node's kubelet would report; KWOK
 * keeps it and adds conditions and heartbeats.
 */
export function nodesManifest(nodes: readonly KubeNode[], kubeletVersion: string): string {
  const items = nodes.map((n) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: n.name,
      annotations: {
        [KWOK_NODE_ANNOTATION]: 'fake',
        'node.alpha.kubernetes.io/ttl': '0',
        'volumes.kubernetes.io/controller-managed-attach-detach': 'true',
      },
      labels: {
        'beta.kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'kubernetes.io/hostname': n.name,
        'kubernetes.io/os': 'linux',
        // what the AWS cloud provider adds
        'topology.kubernetes.io/region': AVAILABILITY_ZONE.slice(0, -1),
        'topology.kubernetes.io/zone': AVAILABILITY_ZONE,
        ...(n.role === 'control-plane'
          ? { [CONTROL_PLANE_ROLE_LABEL]: '', 'node.kubernetes.io/exclude-from-external-load-balancers': '' }
          : {}),
      },
    },
    spec: {
      providerID: n.providerID ?? `aws:///${AVAILABILITY_ZONE}/${n.instanceId}`,
      ...(n.role === 'control-plane'
        ? { taints: [{ key: CONTROL_PLANE_ROLE_LABEL, effect: 'NoSchedule' }] }
        : {}),
    },
    status: {
      capacity: { cpu: '4', memory: '16Gi', pods: '110', 'ephemeral-storage': '100Gi' },
      allocatable: { cpu: '4', memory: '15Gi', pods: '110', 'ephemeral-storage': '95Gi' },
      nodeInfo: {
        architecture: 'amd64',
        operatingSystem: 'linux',
        kubeletVersion,
        kubeProxyVersion: '',
        osImage: 'Ubuntu 24.04 LTS',
        kernelVersion: '6.8.0-1021-aws',
        containerRuntimeVersion: 'containerd://2.1.0',
        // KWOK's templates write these unquoted: they must not read as YAML numbers. EC2's
        // system UUIDs start with "ec2"; the machine id is 32 characters, so is this one
        machineID: `ec2${createHash('sha256').update(n.instanceId).digest('hex').slice(0, 29)}`,
        systemUUID: `ec2${randomUUID().slice(3)}`,
        bootID: n.bootId ?? randomUUID(),
      },
    },
  }));
  return JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
}

interface NodeObject {
  metadata: { name: string; labels?: Record<string, string> };
  spec: { providerID?: string; unschedulable?: boolean };
  status?: { conditions?: { type: string; status: string }[]; nodeInfo?: { kubeletVersion?: string } };
}

interface PodObject {
  metadata: { name?: string; namespace?: string; deletionTimestamp?: string };
  status?: { phase?: string; conditions?: { type: string; status: string }[] };
}

function summarizeNode(n: NodeObject): NodeSummary {
  const roles = Object.keys(n.metadata.labels ?? {})
    .filter((l) => l.startsWith('node-role.kubernetes.io/'))
    .map((l) => l.slice('node-role.kubernetes.io/'.length));
  return {
    name: n.metadata.name,
    ready: n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
    unschedulable: n.spec.unschedulable === true,
    roles,
    kubeletVersion: n.status?.nodeInfo?.kubeletVersion ?? '',
    providerID: n.spec.providerID ?? '',
  };
}

function isPodReady(p: PodObject): boolean {
  return (
    !p.metadata.deletionTimestamp &&
    p.status?.phase === 'Running' &&
    (p.status.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false)
  );
}

function namespacesIn(manifest: string): Set<string> {
  const list = JSON.parse(manifest) as { items: { metadata: { name: string } }[] };
  return new Set(list.items.map((i) => i.metadata.name));
}

/**
 * Runs `kubectl --kubeconfig=<kubeconfig> <args>`.
 * @throws KubectlError when it exits non-zero or is killed after the timeout.
 */
export function runKubectl(
  kubectl: string,
  kubeconfig: string,
  args: readonly string[],
  options: KubectlOptions = {},
): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = execFile(
      kubectl,
      // the discovery cache beside the kubeconfig, not in the user's ~/.kube
      [`--kubeconfig=${kubeconfig}`, `--cache-dir=${join(dirname(kubeconfig), '.kube-cache')}`, ...args],
      { timeout: options.timeoutMs ?? 60_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const code = typeof err.code === 'number' ? err.code : null;
          reject(new KubectlError(args, code, stdout, stderr));
        } else resolvePromise(stdout);
      },
    );
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}
