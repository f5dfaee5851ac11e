/**
 * The machines of the local fleet and their lifecycle: EC2 state, the SSM agent's ping status,
 * the boot id, and reboots as the SSM agent does them (the node goes ConnectionLost, comes back
 * after `rebootMs` with a new boot id, and SSM says it is Online again).
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ROLE_TAG, SCRATCH_ROLE } from '../../functions/shared/domain/config';
import { NodePackages } from './packages';

/** where the sandbox's nodes "run": Kubernetes' providerID and the inventory say the same */
export const AVAILABILITY_ZONE = 'eu-west-1a';
/** a reboot of a sandbox node: long enough to see it offline, short enough for a test run */
export const DEFAULT_REBOOT_MS = 1000;
/** the longest delay setTimeout takes */
const MAX_TIMER_MS = 2 ** 31 - 1;
/** where Linux keeps the boot id, under the node's root */
const BOOT_ID_PATH = join('proc', 'sys', 'kernel', 'random', 'boot_id');

export type NodeRole = 'control-plane' | 'worker' | 'scratch';
/** DescribeInstanceInformation's PingStatus, as far as the fleet plays it */
export type PingStatus = 'Online' | 'ConnectionLost';

/** a machine of the local fleet as the sandbox describes it: tags, and the environment its commands run with */
export interface LocalNode {
  instanceId: string;
  name: string;
  tags: Record<string, string>;
  /** extra environment for scripts on this node (its etcd endpoint, the local S3, …) */
  env: Record<string, string>;
  /**
   * false plays a node whose SSM agent never registered: SSM does not know it (a scratch node
   * that never comes up); default true. A known node that loses its agent is `disconnect`ed.
   */
  online?: boolean;
  /** default: from the `caretaker:role` tag, else worker */
  role?: NodeRole;
  /** the Kubernetes Node object's name, default `name` */
  kubernetesNodeName?: string;
  /**
   * document parameters this node takes when SendCommand leaves them out, before the document's
   * defaults: a sandbox liberty (SSM has none) so two scratch nodes on one machine do not share
   * the restore-verify ports
   */
  parameterDefaults?: Record<string, string>;
}

/** one half of a reboot: `down` when the node goes offline, `up` when SSM reports it Online again */
export interface RebootEvent {
  instanceId: string;
  name: string;
  kubernetesNodeName: string;
  phase: 'down' | 'up';
  /** what asked for it: a script's exit code, or a reboot requested from outside (EC2 RebootInstances) */
  reason: 'exit-194' | 'exit-3010' | 'requested';
  /** the command whose script asked for it */
  commandId?: string;
  /** the boot id before the reboot */
  previousBootId: string;
  /** the new boot's id (`up` only) */
  bootId?: string;
  at: Date;
}

/** a node as Kubernetes sees it: what sandbox/kubernetes.ts needs to create its Node object */
export interface KubernetesNodeDescriptor {
  name: string;
  instanceId: string;
  role: 'control-plane' | 'worker';
  /** `aws:///<az>/<instance-id>`, what the AWS cloud provider writes into spec.providerID */
  providerID: string;
  bootId: string;
  /** the node's `/` on this machine */
  root: string;
}

/** a live machine of the fleet */
export class FleetNode {
  readonly instanceId: string;
  readonly name: string;
  readonly tags: Record<string, string>;
  readonly role: NodeRole;
  readonly kubernetesNodeName: string;
  readonly availabilityZone = AVAILABILITY_ZONE;
  readonly privateIp = '127.0.0.1';
  /** the node's `/`: CARETAKER_NODE_ROOT when the sandbox gave one, else `<fleet dir>/<instance id>` */
  readonly root: string;
  /** `/proc/sys/kernel/random/boot_id` as the node's scripts see it (CARETAKER_BOOT_ID_FILE) */
  readonly bootIdFile: string;
  /** EC2's view: a rebooting instance stays running */
  state: 'running' | 'terminated' = 'running';
  /** SSM's view; meaningful only once the agent registered */
  pingStatus: PingStatus = 'Online';
  /** whether SSM knows the node at all (its agent registered once) */
  registered: boolean;
  lastPingAt = new Date();
  /** true from the moment a reboot starts until the node is Online again */
  rebooting = false;
  /**
   * true: the node's next reboot never ends (it stays ConnectionLost, its Node NotReady) until
   * `NodeSet.bringBack`; a test of a node that never comes back sets it
   */
  staysDown = false;
  /** its package manager as the stand-in plays it (os-release, pending updates, knobs) */
  readonly packages: NodePackages;
  private currentBootId = '';

  constructor(
    private readonly spec: LocalNode,
    fleetDir: string,
  ) {
    this.instanceId = spec.instanceId;
    this.name = spec.name;
    this.tags = spec.tags;
    this.role = spec.role ?? roleFromTags(spec.tags);
    this.kubernetesNodeName = spec.kubernetesNodeName ?? spec.name;
    this.registered = spec.online !== false;
    this.root = spec.env.CARETAKER_NODE_ROOT ?? join(fleetDir, spec.instanceId);
    this.bootIdFile = join(this.root, BOOT_ID_PATH);
    this.packages = new NodePackages(this.root);
    this.boot();
  }

  get bootId(): string {
    return this.currentBootId;
  }

  /** `aws:///<az>/<instance-id>`, as the AWS cloud provider sets a Node's spec.providerID */
  get providerID(): string {
    return `aws:///${this.availabilityZone}/${this.instanceId}`;
  }

  /** what Inventory and SendCommand ask: running, registered, and SSM sees it Online */
  get online(): boolean {
    return this.state === 'running' && this.registered && this.pingStatus === 'Online';
  }

  /** document parameters this node takes when SendCommand leaves them out (LocalNode.parameterDefaults) */
  get parameterDefaults(): Record<string, string> {
    return { ...this.spec.parameterDefaults };
  }

  /**
   * the environment a command's script runs with on this node: its root (CARETAKER_NODE_ROOT,
   * where its scripts find /etc/kubernetes/admin.conf, /etc/os-release, /var/run) and its boot id
   */
  get env(): Record<string, string> {
    return { ...this.spec.env, CARETAKER_NODE_ROOT: this.root, CARETAKER_BOOT_ID_FILE: this.bootIdFile };
  }

  /**
   * a new boot: a new boot id in the node's boot_id file, as the kernel makes one each boot, and
   * an empty /run and /var/run (tmpfs: /var/run/reboot-required goes with the reboot)
   */
  boot(): void {
    for (const tmpfs of ['run', join('var', 'run')])
      rmSync(join(this.root, tmpfs), { recursive: true, force: true });
    this.currentBootId = randomUUID();
    mkdirSync(dirname(this.bootIdFile), { recursive: true });
    writeFileSync(this.bootIdFile, `${this.currentBootId}\n`);
  }

  kubernetes(): KubernetesNodeDescriptor | undefined {
    if (this.role === 'scratch') return undefined;
    return {
      name: this.kubernetesNodeName,
      instanceId: this.instanceId,
      role: this.role,
      providerID: this.providerID,
      bootId: this.bootId,
      root: this.root,
    };
  }
}

function roleFromTags(tags: Record<string, string>): NodeRole {
  const role = tags[ROLE_TAG];
  if (role === SCRATCH_ROLE) return 'scratch';
  return role === 'control-plane' ? 'control-plane' : 'worker';
}

export interface NodeSetOptions {
  /** where nodes without a CARETAKER_NODE_ROOT get their root (`<dir>/<instance id>`) */
  dir: string;
  /** how long a node is offline while it reboots, default {@link DEFAULT_REBOOT_MS} */
  rebootMs?: number;
  /** told of both halves of every reboot */
  onReboot?: (event: RebootEvent) => void;
}

/**
 * The fleet's machines and what happens to them. The inventory, the command runner and the
 * scratch fleet share one NodeSet, so a reboot the runner starts is what the inventory reports.
 */
export class NodeSet {
  readonly nodes = new Map<string, FleetNode>();
  /** both halves of every reboot, in order: a test reads these */
  readonly reboots: RebootEvent[] = [];
  readonly rebootMs: number;
  private readonly listeners = new Set<(event: RebootEvent) => void>();
  /** woken whenever a node's state or ping status changes */
  private readonly waiters = new Set<() => void>();
  private readonly inFlight = new Set<Promise<void>>();

  constructor(private readonly options: NodeSetOptions) {
    this.rebootMs = options.rebootMs ?? DEFAULT_REBOOT_MS;
  }

  add(spec: LocalNode): FleetNode {
    const node = new FleetNode(spec, this.options.dir);
    this.nodes.set(node.instanceId, node);
    return node;
  }

  get(instanceId: string): FleetNode | undefined {
    return this.nodes.get(instanceId);
  }

  /** calls `listener` with both halves of every reboot; returns what removes it */
  onReboot(listener: (event: RebootEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** EC2 TerminateInstances: gone from the inventory; a command waiting for it is never delivered */
  terminate(instanceId: string): boolean {
    const node = this.nodes.get(instanceId);
    if (!node) return false;
    node.state = 'terminated';
    this.nodes.delete(instanceId);
    this.changed();
    return true;
  }

  /** the agent stops answering (network, agent crash): SSM reports ConnectionLost until `reconnect` */
  disconnect(instanceId: string): void {
    const node = this.require(instanceId);
    node.pingStatus = 'ConnectionLost';
    this.changed();
  }

  /** the agent answers again (or registers for the first time): SSM reports it Online */
  reconnect(instanceId: string): void {
    const node = this.require(instanceId);
    node.registered = true;
    node.pingStatus = 'Online';
    node.lastPingAt = new Date();
    this.changed();
  }

  /**
   * Reboots the node: offline (ConnectionLost) at once, back after `rebootMs` with a new boot
   * id and Online. Resolves when it is back, or at once when it was terminated meanwhile.
   * @throws Error when the node is unknown or already rebooting
   */
  reboot(instanceId: string, reason: RebootEvent['reason'] = 'requested', commandId?: string): Promise<void> {
    const node = this.require(instanceId);
    if (node.rebooting) throw new Error(`${instanceId} is already rebooting`);
    const previousBootId = node.bootId;
    const base = {
      instanceId,
      name: node.name,
      kubernetesNodeName: node.kubernetesNodeName,
      reason,
      commandId,
      previousBootId,
    };
    node.rebooting = true;
    node.pingStatus = 'ConnectionLost';
    this.changed();
    this.emit({ ...base, phase: 'down', at: new Date() });
    const back = new Promise<void>((resolve) => setTimeout(resolve, this.rebootMs)).then(() => {
      node.rebooting = false;
      if (node.state === 'terminated') return;
      // a node that never comes back: offline until bringBack
      if (node.staysDown) return;
      node.boot();
      node.pingStatus = 'Online';
      node.lastPingAt = new Date();
      this.changed();
      this.emit({ ...base, phase: 'up', bootId: node.bootId, at: new Date() });
    });
    const tracked = back.finally(() => this.inFlight.delete(tracked));
    this.inFlight.add(tracked);
    return tracked;
  }

  /**
   * Ends the endless reboot of a node that `staysDown`: it boots with a new boot id and is
   * Online again (the `up` half of its reboot is emitted now).
   * @throws Error when the node is not down after a reboot
   */
  bringBack(instanceId: string): void {
    const node = this.require(instanceId);
    const down = [...this.reboots].reverse().find((r) => r.instanceId === instanceId);
    if (node.rebooting || node.online || down?.phase !== 'down')
      throw new Error(`${instanceId} is not down after a reboot`);
    node.staysDown = false;
    node.boot();
    node.pingStatus = 'Online';
    node.lastPingAt = new Date();
    this.changed();
    this.emit({ ...down, phase: 'up', bootId: node.bootId, at: new Date() });
  }

  /**
   * Resolves true as soon as the node is Online, false when it is terminated, `signal` aborts,
   * or `timeoutMs` passes first.
   */
  waitUntilOnline(node: FleetNode, timeoutMs: number, signal?: AbortSignal): Promise<boolean> {
    if (node.online) return Promise.resolve(true);
    if (node.state === 'terminated' || signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const finish = (online: boolean) => {
        this.waiters.delete(check);
        signal?.removeEventListener('abort', onAbort);
        clearTimeout(timer);
        resolve(online);
      };
      const check = () => {
        if (node.online) finish(true);
        else if (node.state === 'terminated') finish(false);
      };
      const onAbort = () => finish(false);
      // setTimeout fires at once past 2^31-1 ms; SendCommand allows up to 30 days
      const timer = setTimeout(() => finish(false), Math.min(Math.max(0, timeoutMs), MAX_TIMER_MS));
      this.waiters.add(check);
      signal?.addEventListener('abort', onAbort);
    });
  }

  /** waits until no reboot is under way */
  async settle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  private require(instanceId: string): FleetNode {
    const node = this.nodes.get(instanceId);
    if (!node) throw new Error(`no node ${instanceId} in the local fleet`);
    return node;
  }

  private changed(): void {
    for (const wake of [...this.waiters]) wake();
  }

  private emit(event: RebootEvent): void {
    this.reboots.push(event);
    this.options.onReboot?.(event);
    for (const listener of this.listeners) listener(event);
  }
}
