/**
 * The local fleet: EC2 and SSM on this machine, as the three ports Caretaker's services use —
 * an inventory (sandbox/fleet/inventory.ts), a command runner with the SSM agent's lifecycle
 * (sandbox/fleet/command-runner.ts) and a scratch fleet (sandbox/fleet/scratch-fleet.ts) — over
 * one set of nodes (sandbox/fleet/nodes.ts) that reboot, go offline and come back with a new
 * boot id.
 */
import type {
  CommandRequest,
  CommandRunner,
  Instance,
  Inventory,
  Invocation,
  ScratchFleet,
  ScratchInstance,
  ScratchLaunch,
} from '../functions/shared/ports';
import { LocalCommandRunner, type CommandRecord, type StatusChangeEvent } from './fleet/command-runner';
import { LocalInventory } from './fleet/inventory';
import {
  NodeSet,
  type FleetNode,
  type KubernetesNodeDescriptor,
  type LocalNode,
  type RebootEvent,
} from './fleet/nodes';
import { LocalScratchFleet } from './fleet/scratch-fleet';

export {
  EXIT_REBOOT_AFTER,
  EXIT_REBOOT_AND_RERUN,
  InvalidInstanceIdError,
  InvalidParametersError,
  type CommandRecord,
  type ScriptRunRecord,
  type StatusChangeEvent,
} from './fleet/command-runner';
export type { InstanceInformation } from './fleet/inventory';
export { followReboots, type FollowedReboots, type NodeLifecycle } from './fleet/kubernetes-lifecycle';
export {
  DEFAULT_UPDATES,
  MANAGER_OF,
  NodePackages,
  PACKAGE_STAND_IN_DIR,
  type Flavor,
  type PackageInvocation,
  type PendingUpdate,
} from './fleet/packages';
export {
  AVAILABILITY_ZONE,
  type FleetNode,
  type KubernetesNodeDescriptor,
  type LocalNode,
  type NodeRole,
  type PingStatus,
  type RebootEvent,
} from './fleet/nodes';

export interface LocalFleetOptions {
  nodes: LocalNode[];
  /** where each node's root (boot_id and the like) lives: `<dir>/<instance id>`, unless its env names a CARETAKER_NODE_ROOT */
  dir: string;
  region?: string;
  /** where the documents and their scripts live; default the repository's ssm-documents/ */
  documentsDir?: string;
  /** how long a node is offline while it reboots (default 1 s) */
  rebootMs?: number;
  /** EventBridge: receives each status-change event (the sandbox wires complete-command here) */
  onStatusChange?: (event: StatusChangeEvent) => Promise<void>;
  /** called once per invocation before its script first starts: the place to inject failures */
  beforeCommand?: (record: CommandRecord) => Promise<void> | void;
  /** called when an invocation has ended, before the event is emitted */
  afterCommand?: (record: CommandRecord) => void;
  /** told when a node goes down for a reboot and when it is back */
  onReboot?: (event: RebootEvent) => void;
  /** the environment a launched scratch node gets (its S3, its work dir); EC2 would boot an image */
  scratchEnv?: (instanceId: string) => Record<string, string>;
}

/**
 * Plays EC2 and SSM: nodes are entries with tags and instance ids; a command runs the
 * document's real script with the node's environment and announces its end with the same
 * status-change event SSM sends; exit 194 and 3010 reboot the node as the SSM agent does.
 * Each port is also a piece of its own (`inventory`, `runner`, `scratch`); the fleet delegates.
 */
export class LocalFleet implements Inventory, CommandRunner, ScratchFleet {
  readonly machines: NodeSet;
  readonly inventory: LocalInventory;
  readonly runner: LocalCommandRunner;
  readonly scratch: LocalScratchFleet;

  constructor(options: LocalFleetOptions) {
    this.machines = new NodeSet({ dir: options.dir, rebootMs: options.rebootMs, onReboot: options.onReboot });
    for (const n of options.nodes) this.machines.add(n);
    this.inventory = new LocalInventory(this.machines);
    this.runner = new LocalCommandRunner(this.machines, {
      region: options.region,
      documentsDir: options.documentsDir,
      onStatusChange: options.onStatusChange,
      beforeCommand: options.beforeCommand,
      afterCommand: options.afterCommand,
    });
    this.scratch = new LocalScratchFleet(this.machines, { scratchEnv: options.scratchEnv });
  }

  /** every node that is not terminated, by instance id */
  get nodes(): ReadonlyMap<string, FleetNode> {
    return this.machines.nodes;
  }

  /** every command sent, in order */
  get commands(): CommandRecord[] {
    return this.runner.commands;
  }

  /** both halves of every reboot, in order */
  get reboots(): RebootEvent[] {
    return this.machines.reboots;
  }

  get launches(): (ScratchLaunch & { instanceId: string })[] {
    return this.scratch.launches;
  }

  get terminated(): string[] {
    return this.scratch.terminated;
  }

  /** false plays scratch instances whose SSM agent never comes Online */
  get scratchComesOnline(): boolean {
    return this.scratch.scratchComesOnline;
  }

  set scratchComesOnline(value: boolean) {
    this.scratch.scratchComesOnline = value;
  }

  findManagedInstances(tags: Record<string, string>): Promise<Instance[]> {
    return this.inventory.findManagedInstances(tags);
  }

  send(request: CommandRequest): Promise<{ commandId: string }> {
    return this.runner.send(request);
  }

  findSent(instanceId: string, marker: string, since: Date): Promise<{ commandId: string } | undefined> {
    return this.runner.findSent(instanceId, marker, since);
  }

  getInvocation(commandId: string, instanceId: string): Promise<Invocation | undefined> {
    return this.runner.getInvocation(commandId, instanceId);
  }

  launch(request: ScratchLaunch): Promise<{ instanceId: string }> {
    return this.scratch.launch(request);
  }

  listScratch(): Promise<ScratchInstance[]> {
    return this.scratch.listScratch();
  }

  terminate(instanceId: string): Promise<void> {
    return this.scratch.terminate(instanceId);
  }

  /** EC2 RebootInstances: offline now, back with a new boot id after the reboot time */
  reboot(instanceId: string): Promise<void> {
    return this.machines.reboot(instanceId, 'requested');
  }

  /** a machine of the fleet: its root, boot id, package manager (`packages`) and knobs */
  node(instanceId: string): FleetNode {
    const node = this.machines.get(instanceId);
    if (!node) throw new Error(`no node ${instanceId} in the local fleet`);
    return node;
  }

  /** the node's next reboot never ends (ConnectionLost, its Node NotReady) until `bringBack` */
  stayDownOnReboot(instanceId: string, down = true): void {
    this.node(instanceId).staysDown = down;
  }

  /** ends the endless reboot of a node that stayed down: a new boot id, Online again */
  bringBack(instanceId: string): void {
    this.machines.bringBack(instanceId);
  }

  /** the node's SSM agent stops answering: ConnectionLost until `reconnect` */
  disconnect(instanceId: string): void {
    this.machines.disconnect(instanceId);
  }

  /** the node's SSM agent answers again (or registers for the first time) */
  reconnect(instanceId: string): void {
    this.machines.reconnect(instanceId);
  }

  /** calls `listener` with both halves of every reboot; returns what removes it */
  onReboot(listener: (event: RebootEvent) => void): () => void {
    return this.machines.onReboot(listener);
  }

  /** the control-plane and worker nodes as Kubernetes Node objects name them */
  kubernetesNodes(): KubernetesNodeDescriptor[] {
    return [...this.machines.nodes.values()].flatMap((n) => n.kubernetes() ?? []);
  }

  /**
   * waits for every command and reboot still under way (the sandbox does this before it
   * stops); commands still waiting for an offline node are cancelled undelivered
   */
  async settle(): Promise<void> {
    await this.runner.settle();
    await this.machines.settle();
  }
}
