/**
 * What a control-plane upgrade touches in the sandbox, played on the real control plane: the
 * ELBv2 stand-in over the API servers' TCP load balancer, the kubeadm "static pods" (mirror pods
 * of kube-apiserver, kube-controller-manager, kube-scheduler on each control-plane Node), and
 * the sandbox side of the kubeadm/systemctl stand-in (sandbox/stand-ins/kube-stand-in): on
 * `kubeadm upgrade apply|node` it restarts that node's real kube-apiserver and moves its static
 * pods to the target images; on `systemctl restart kubelet` the node's kubelet (KWOK) reports
 * the installed version. Every step goes into one timeline with the etcd leader at that moment.
 * Workers get the same stand-in for their kubelet upgrade (kubelet-upgrade, after the control
 * plane): their steps go to `workerSteps`.
 * Only one Kubernetes version is built here (tools/build.sh): the API server restarts on the
 * same binary, and the version the cluster "runs" is what its static pods and kubelets report.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { resolve } from 'node:path';
import { parseRelease } from '../functions/shared/domain/kubernetes-version';
import type { EtcdCluster } from './etcd-cluster';
import { LocalTargetGroups, type TimelineEvent } from './elbv2-target-groups';
import type { KubernetesCluster } from './kubernetes';

/** the sandbox cluster's API target group (config controlPlane.targetGroupArns) */
export const SANDBOX_TARGET_GROUP =
  'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/sandbox-api/0123456789abcdef';

/** the kubeadm, systemctl and apt stand-ins control-plane nodes find first on PATH */
export const KUBE_STAND_IN_DIR = resolve(__dirname, 'stand-ins');

const STATIC_COMPONENTS = ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'] as const;

/** `v1.37.2` → `v1.36.0`: what a sandbox upgrade to the built version starts from */
export function previousMinor(version: string): string {
  const v = parseRelease(version);
  if (!v || v.minor === 0) throw new Error(`cannot go below ${version}`);
  return `v${v.major}.${v.minor - 1}.0`;
}

export interface SandboxUpgradesOptions {
  kubernetes: KubernetesCluster;
  etcd: EtcdCluster;
  /** the version the cluster starts at: its static pods' images and its kubelets */
  from: string;
  /** ELBv2's deregistration delay here, default 2 s */
  drainMs?: number;
}

export class SandboxUpgrades {
  readonly timeline: TimelineEvent[] = [];
  readonly targetGroups: LocalTargetGroups;
  /** per node: how long its API server was down while kubeadm "restarted" it, ms */
  readonly restarts: { node: string; downMs: number }[] = [];
  /** the workers' kubelet upgrades (kubeadm upgrade node, kubelet restart), apart from the control plane's timeline */
  readonly workerSteps: { at: number; node: string; step: 'kubeadm' | 'kubelet'; version: string }[] = [];

  private constructor(
    private readonly options: SandboxUpgradesOptions,
    private readonly server: Server,
    readonly url: string,
  ) {
    const k = options.kubernetes;
    this.targetGroups = new LocalTargetGroups({
      lb: k.loadBalancer,
      targetGroupArns: [SANDBOX_TARGET_GROUP],
      backend: (id) => {
        const api = k.apiServers.find((a) => a.node.instanceId === id);
        return api ? { host: '127.0.0.1', port: api.port } : undefined;
      },
      drainMs: options.drainMs ?? 2000,
      timeline: this.timeline,
    });
  }

  /** seeds the static pods at `from` and listens for the stand-in on 127.0.0.1 */
  static async start(options: SandboxUpgradesOptions): Promise<SandboxUpgrades> {
    // the server answers only once `upgrades` is built below
    const ref: { upgrades?: SandboxUpgrades } = {};
    const server = createServer((req, res) => {
      void ref
        .upgrades!.handle(new URL(req.url ?? '/', 'http://127.0.0.1'))
        .then((text) => res.writeHead(200).end(`${text}\n`))
        .catch((e: Error) => res.writeHead(500).end(`${e.message}\n`));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const upgrades = (ref.upgrades = new SandboxUpgrades(options, server, url));
    for (const api of options.kubernetes.apiServers)
      await upgrades.setStaticPods(api.node.name, options.from);
    return upgrades;
  }

  /** what a control-plane node's scripts need besides the fleet's environment */
  nodeEnv(nodeName: string, pkgStandInDir: string): Record<string, string> {
    const api = this.options.kubernetes.apiServer(nodeName);
    const built = this.options.kubernetes.binaries.version;
    return {
      CARETAKER_APISERVER_URL: api.url,
      CARETAKER_SANDBOX_CONTROL: this.url,
      CARETAKER_NODE_NAME: nodeName,
      CARETAKER_KUBE_INSTALLED: this.options.from.replace(/^v/, ''),
      CARETAKER_KUBE_AVAILABLE: [this.options.from, built].map((v) => v.replace(/^v/, '')).join(' '),
      CARETAKER_PKG_STAND_IN_DIR: pkgStandInDir,
    };
  }

  /** what a worker's scripts need for kubelet-upgrade: the kubeadm/kubelet stand-in's other half */
  workerEnv(nodeName: string, pkgStandInDir: string): Record<string, string> {
    return {
      CARETAKER_SANDBOX_CONTROL: this.url,
      CARETAKER_NODE_NAME: nodeName,
      CARETAKER_KUBE_INSTALLED: this.options.from.replace(/^v/, ''),
      CARETAKER_KUBE_AVAILABLE: [this.options.from, this.options.kubernetes.binaries.version]
        .map((v) => v.replace(/^v/, ''))
        .join(' '),
      CARETAKER_PKG_STAND_IN_DIR: pkgStandInDir,
    };
  }

  /** the instance id of the member that leads etcd now ('' when none answers) */
  async etcdLeader(): Promise<string> {
    const { etcd, kubernetes } = this.options;
    for (const [i, api] of kubernetes.apiServers.entries()) {
      try {
        const [s] = await etcd.client(i).status();
        if (s && s.leader === s.memberId) return api.node.instanceId;
      } catch {
        // a member that does not answer is not the leader
      }
    }
    return '';
  }

  private async handle(url: URL): Promise<string> {
    const node = url.searchParams.get('node') ?? '';
    const version = url.searchParams.get('version') ?? '';
    const k = this.options.kubernetes;
    if (!parseRelease(version)) throw new Error(`not a version: ${version}`);
    if (!k.apiServers.some((a) => a.node.name === node))
      return this.handleWorker(url.pathname, node, version);
    const api = k.apiServer(node);
    if (url.pathname === '/kubeadm') {
      const phase = url.searchParams.get('phase') ?? '';
      this.timeline.push({
        at: Date.now(),
        kind: 'kubeadm',
        subject: api.node.instanceId,
        etcdLeader: await this.etcdLeader(),
        detail: `${phase} ${version}`,
      });
      const downMs = await k.restartApiServer(node);
      this.restarts.push({ node, downMs });
      await this.setStaticPods(node, version);
      this.timeline.push({
        at: Date.now(),
        kind: 'apiserver-restarted',
        subject: api.node.instanceId,
        detail: version,
      });
      return `restarted kube-apiserver on ${node} in ${downMs} ms; static pods at ${version}`;
    }
    if (url.pathname === '/kubelet') {
      await this.reportKubeletVersion(node, version);
      this.timeline.push({ at: Date.now(), kind: 'kubelet', subject: api.node.instanceId, detail: version });
      return `kubelet on ${node} reports ${version}`;
    }
    throw new Error(`unknown request ${url.pathname}`);
  }

  /** the restarted kubelet (KWOK plays it) reports the installed version in its Node's status */
  private async reportKubeletVersion(node: string, version: string): Promise<void> {
    await this.options.kubernetes.kubectl([
      'patch',
      'node',
      node,
      '--subresource=status',
      '--type=merge',
      '-p',
      JSON.stringify({ status: { nodeInfo: { kubeletVersion: version } } }),
    ]);
  }

  /**
   * a worker: `kubeadm upgrade node` only rewrites its kubelet's configuration (nothing restarts);
   * `systemctl restart kubelet` makes its Node (KWOK) report the installed version
   */
  private async handleWorker(path: string, node: string, version: string): Promise<string> {
    if (path === '/kubeadm') {
      this.workerSteps.push({ at: Date.now(), node, step: 'kubeadm', version });
      return `kubelet configuration of ${node} at ${version}`;
    }
    if (path === '/kubelet') {
      await this.reportKubeletVersion(node, version);
      this.workerSteps.push({ at: Date.now(), node, step: 'kubelet', version });
      return `kubelet on ${node} reports ${version}`;
    }
    throw new Error(`unknown request ${path}`);
  }

  /** the node's mirror pods at `version`, replaced as a kubelet replaces them after a manifest change */
  private async setStaticPods(node: string, version: string): Promise<void> {
    const k = this.options.kubernetes;
    const names = STATIC_COMPONENTS.map((c) => `${c}-${node}`);
    await k.kubectl([
      'delete',
      'pod',
      '-n',
      'kube-system',
      '--ignore-not-found',
      '--grace-period=0',
      '--force',
      ...names,
    ]);
    const items = STATIC_COMPONENTS.map((component) => ({
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: {
        name: `${component}-${node}`,
        namespace: 'kube-system',
        labels: { component, tier: 'control-plane' },
        annotations: {
          'kubernetes.io/config.source': 'file',
          'kubernetes.io/config.mirror': `${component}-${version}`,
        },
      },
      spec: {
        nodeName: node,
        priorityClassName: 'system-node-critical',
        tolerations: [{ operator: 'Exists', effect: 'NoExecute' }],
        containers: [{ name: component, image: `registry.k8s.io/${component}:${version}` }],
      },
    }));
    await k.kubectl(['create', '-f', '-'], {
      input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items }),
    });
  }

  stop(): Promise<void> {
    return new Promise((ok) => this.server.close(() => ok()));
  }
}
