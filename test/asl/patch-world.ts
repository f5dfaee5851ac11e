/**
 * A world for the patch-workers ASL: the real Caretaker Lambdas of the workflow (prepare-patch,
 * plan-patch, check-patch-gate, record-patch, finish-patch, the lock, through their handlers, so
 * every payload the ASL builds is parsed by the real input schema) over in-memory ports, and a
 * simulated cluster that plays the node commands (args checked by the command catalog). Every
 * command sent is recorded. Used by test/asl/patch-workers.test.ts and bench/patch.ts.
 */
import { makeHandler as checkGate } from '../../functions/check-patch-gate/handler';
import { makeHandler as finish } from '../../functions/finish-patch/handler';
import { makeHandler as plan } from '../../functions/plan-patch/handler';
import { makeHandler as prepare } from '../../functions/prepare-patch/handler';
import { makeHandler as record } from '../../functions/record-patch/handler';
import { commandSpec, parseCommandArgs } from '../../functions/shared/domain/commands';
import { parseConfig, type ClusterConfig } from '../../functions/shared/domain/config';
import type { InventoryNode } from '../../functions/shared/domain/patching/plan';
import { CommandFailedError, CommandTimedOutError, InvalidInputError } from '../../functions/shared/errors';
import type { Instance, Inventory } from '../../functions/shared/ports';
import {
  runWorkflow,
  type Fake,
  type Json,
  type JsonObject,
  type RunOptions,
} from '../../sandbox/asl-runner';
import { memoryMetrics } from '../../sandbox/local-adapters';
import { memoryStore } from '../support/fakes';
import { lambdaContext } from '../support/lambda-context';
import { InMemoryLock, obj, OutcomeRecorder } from './fakes';

export const CLUSTER = 'prod-eu';
export const CONTROL_PLANE = 'i-0c0c0c0c0c0c0c0c0';
export const BUCKET = 'caretaker-test-bucket';
/** Sunday 2026-11-29 02:30 UTC: inside the default window (Sundays 02:00 UTC, four hours) */
export const IN_WINDOW = '2026-11-29T02:30:00.000Z';

/** one simulated worker: its Node and how it behaves */
export interface SimNode {
  name: string;
  instanceId: string;
  zone: string;
  ready: boolean;
  unschedulable: boolean;
  cordonedBy?: string;
  bootID: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  heldByPods: string[];
  /** a PodDisruptionBudget blocks every eviction from it (a delete still works) */
  pdbBlocks?: boolean;
  /** the patch fails halfway (the package manager exits non-zero) */
  patchFails?: boolean;
  /** after its reboot the kubelet never reports Ready again */
  neverBack?: boolean;
  /** the patch leaves a reboot-required sentinel */
  rebootRequired: boolean;
  /** DaemonSet pods on it never get Ready */
  daemonSetsBroken?: boolean;
  /** how long its os-patch takes, in ms (the bench's per-node time) */
  patchMs?: number;
  /** packages the stand-in installed on it */
  installed: string[];
  reboots: number;
  /** what its kubelet reports (kubelet-upgrade moves it to the target) */
  kubeletVersion: string;
  /** kubelet-upgrade succeeds but the kubelet keeps reporting its old version */
  kubeletStuck?: boolean;
}

export interface SentCommand {
  command: string;
  node?: string;
  instanceId: string;
  args: JsonObject;
  at: number;
}

export interface WorldOptions {
  workers?: number;
  /** the cluster's patching block */
  patching?: Record<string, unknown>;
  /** the time the Lambdas see (default IN_WINDOW) */
  now?: string;
  /** every worker's kubelet version at the start (default v1.37.2) */
  kubeletVersion?: string;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class PatchWorld {
  readonly nodes = new Map<string, SimNode>();
  readonly store = memoryStore();
  readonly metrics = memoryMetrics();
  readonly outcomes = new OutcomeRecorder();
  readonly tags = new Map<string, Record<string, string>>();
  readonly sent: SentCommand[] = [];
  readonly alarming = new Set<string>();
  readonly config: ClusterConfig[];
  now: Date;
  readonly lock: InMemoryLock;
  /** called after each command is played: a test moves the clock or breaks something */
  onCommand?: (c: SentCommand, world: PatchWorld) => void;
  /** nodes in flight now, and the most ever (cordoned by the run at once) */
  inFlight = 0;
  maxInFlight = 0;
  /** what the API server's /version says (node-inventory's apiServerVersion) */
  apiServerVersion = 'v1.37.2';

  constructor(options: WorldOptions = {}) {
    this.now = new Date(options.now ?? IN_WINDOW);
    this.lock = new InMemoryLock(() => this.now);
    this.config = parseConfig({
      clusters: [{ name: CLUSTER, kind: 'kubeadm', region: 'eu-west-1', patching: options.patching ?? {} }],
    }).clusters;
    const count = options.workers ?? 4;
    for (let i = 0; i < count; i += 1) {
      const name = `ip-10-0-${i}-1.eu-west-1.compute.internal`;
      this.nodes.set(name, {
        name,
        instanceId: `i-${(0x1000 + i).toString(16).padStart(17, '0')}`,
        zone: `eu-west-1${'abc'[i % 3]}`,
        ready: true,
        unschedulable: false,
        bootID: `boot-${i}-0`,
        labels: {},
        annotations: {},
        heldByPods: [],
        rebootRequired: i % 2 === 0,
        installed: [],
        reboots: 0,
        kubeletVersion: options.kubeletVersion ?? 'v1.37.2',
      });
    }
  }

  /** the nth simulated node (0-based) */
  node(n: number): SimNode {
    return [...this.nodes.values()][n]!;
  }

  /** nodes the run left cordoned, with no name: must always be empty */
  cordonedBy(owner: string): string[] {
    return [...this.nodes.values()]
      .filter((n) => n.unschedulable && n.cordonedBy === owner)
      .map((n) => n.name);
  }

  private readonly clock = { now: () => new Date(this.now) };

  private readonly inventory: Inventory = {
    findManagedInstances: async (tags) => {
      if (tags['caretaker:role'] === 'control-plane') return [{ instanceId: CONTROL_PLANE }];
      return [...this.nodes.values()].map((n): Instance => ({
        instanceId: n.instanceId,
        availabilityZone: n.zone,
      }));
    },
  };

  private inventoryNode(n: SimNode): InventoryNode {
    return {
      name: n.name,
      providerID: `aws:///${n.zone}/${n.instanceId}`,
      instanceId: n.instanceId,
      availabilityZone: n.zone,
      labels: n.labels,
      annotations: {
        ...n.annotations,
        ...(n.cordonedBy ? { 'caretaker.io/cordoned-by': n.cordonedBy } : {}),
      },
      unschedulable: n.unschedulable,
      ...(n.cordonedBy ? { cordonedBy: n.cordonedBy } : {}),
      ready: n.ready,
      kubeletVersion: n.kubeletVersion,
      bootID: n.bootID,
      heldByPods: n.heldByPods,
    };
  }

  private status(n: SimNode) {
    return {
      node: n.name,
      exists: true,
      ready: n.ready,
      unschedulable: n.unschedulable,
      ...(n.cordonedBy ? { cordonedBy: n.cordonedBy } : {}),
      bootID: n.bootID,
      kubeletVersion: n.kubeletVersion,
      daemonSetPodsReady: !n.daemonSetsBroken && n.ready,
      daemonSetPodsNotReady: n.daemonSetsBroken ? ['kube-system/node-exporter-x1'] : [],
    };
  }

  /** one node command, as the node's script would answer it */
  private async play(command: string, a: JsonObject, instanceId: string): Promise<Json> {
    const nodeName = typeof a['node'] === 'string' ? a['node'] : undefined;
    const n = nodeName
      ? this.nodes.get(nodeName)
      : [...this.nodes.values()].find((x) => x.instanceId === instanceId);
    switch (command) {
      case 'node-inventory': {
        const list = [...this.nodes.values()].map((x) => this.inventoryNode(x));
        await this.store.putJson(String(a['key']), list);
        return { key: String(a['key']), nodes: list.length, apiServerVersion: this.apiServerVersion };
      }
      case 'node-cordon': {
        if (!n) throw new CommandFailedError(`node ${nodeName} not found`);
        const owner = String(a['owner']);
        if (a['action'] === 'cordon') {
          if (n.unschedulable && n.cordonedBy !== owner) {
            return {
              node: n.name,
              unschedulable: true,
              ...(n.cordonedBy ? { cordonedBy: n.cordonedBy } : {}),
              changed: false,
              reason: 'cordoned by someone else',
            };
          }
          const changed = !n.unschedulable;
          if (changed) {
            this.inFlight += 1;
            this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
          }
          n.unschedulable = true;
          n.cordonedBy = owner;
          return { node: n.name, unschedulable: true, cordonedBy: owner, changed };
        }
        if (n.unschedulable && n.cordonedBy === owner) {
          n.unschedulable = false;
          delete n.cordonedBy;
          this.inFlight -= 1;
          return { node: n.name, unschedulable: false, changed: true };
        }
        return {
          node: n.name,
          unschedulable: n.unschedulable,
          ...(n.cordonedBy ? { cordonedBy: n.cordonedBy } : {}),
          changed: false,
        };
      }
      case 'node-drain': {
        if (!n) throw new CommandFailedError(`node ${nodeName} not found`);
        if (!n.unschedulable) throw new CommandFailedError(`node-drain: ${n.name} is not cordoned`);
        if (n.pdbBlocks && a['disableEviction'] !== true) {
          return {
            node: n.name,
            drained: false,
            evicted: ['default/batch-1'],
            blockedBy: [{ pod: 'web/web-0', reason: 'PodDisruptionBudget web-pdb allows 0 disruptions' }],
          };
        }
        return { node: n.name, drained: true, evicted: ['default/batch-1', 'web/web-0'], blockedBy: [] };
      }
      case 'os-patch':
      case 'os-patch-baseline': {
        if (!n) throw new CommandFailedError(`no node has instance ${instanceId}`);
        if (n.patchMs) await sleep(n.patchMs);
        const bootIdBefore = n.bootID;
        if (n.patchFails) {
          n.installed.push('openssl');
          throw new CommandFailedError(
            'os-patch failed (exit 100): E: Sub-process /usr/bin/dpkg returned an error code (1) after 1 of 3 packages',
          );
        }
        n.installed.push('openssl', 'libc6', 'linux-image-amd64');
        const reboot = a['reboot'] === 'always' || (a['reboot'] === 'if-required' && n.rebootRequired);
        if (reboot) {
          n.reboots += 1;
          n.bootID = `${n.bootID.replace(/-\d+$/, '')}-${n.reboots}`;
          if (n.neverBack) n.ready = false;
        }
        return {
          manager: command === 'os-patch' ? 'apt' : 'patch-baseline',
          packages: command === 'os-patch' ? 3 : -1,
          changed: ['openssl', 'libc6', 'linux-image-amd64'],
          rebootRequired: n.rebootRequired,
          rebooted: reboot,
          bootIdBefore,
          bootIdAfter: n.bootID,
        };
      }
      case 'kubelet-upgrade': {
        // kubeadm upgrade node, kubelet and kubectl at the version, kubelet restart: no reboot
        if (!n) throw new CommandFailedError(`no node has instance ${instanceId}`);
        if (n.patchMs) await sleep(n.patchMs);
        if (n.patchFails)
          throw new CommandFailedError(
            'kubeadm upgrade node failed: unable to fetch the kubeadm-config ConfigMap',
          );
        const bare = String(a['version']).replace(/^v/, '');
        const changed = ['kubeadm', 'kubelet', 'kubectl'].map((p) => `${p}=${bare}-*`);
        n.installed.push(...changed);
        if (!n.kubeletStuck) n.kubeletVersion = String(a['version']);
        return {
          manager: 'apt',
          packages: 3,
          changed,
          rebootRequired: false,
          rebooted: false,
          bootIdBefore: n.bootID,
          bootIdAfter: n.bootID,
          version: String(a['version']),
          kubeadm: 'kubeadm upgrade node',
          kubeletRestarted: true,
        };
      }
      case 'node-status':
        if (!n) throw new CommandFailedError(`node ${nodeName} not found`);
        return this.status(n);
      case 'node-record':
        if (!n) throw new CommandFailedError(`node ${nodeName} not found`);
        n.annotations['caretaker.io/patched-at'] = String(a['patchedAt']);
        n.annotations['caretaker.io/patched-by'] = String(a['owner']);
        n.annotations['caretaker.io/patch-summary'] = String(a['summary']);
        return { node: n.name, patchedAt: String(a['patchedAt']) };
      default:
        throw new InvalidInputError(`the world does not play ${command}`);
    }
  }

  /** send-command with a reply: the args are checked by the command catalog first */
  readonly sendCommand: Fake = async (input) => {
    const p = obj(input);
    const command = String(p['command']);
    const args = (p['args'] ?? {}) as JsonObject;
    parseCommandArgs(commandSpec(command), CLUSTER, args);
    const sent: SentCommand = {
      command,
      instanceId: String(p['instanceId']),
      args,
      at: Date.now(),
      ...(typeof args['node'] === 'string' ? { node: args['node'] } : {}),
    };
    this.sent.push(sent);
    const result = await this.play(command, args, String(p['instanceId']));
    this.onCommand?.(sent, this);
    return result;
  };

  private readonly ports = () => ({
    clusters: {
      get: async (name: string) => {
        const c = this.config.find((x) => x.name === name);
        if (!c) throw new InvalidInputError(`no cluster ${name}`);
        return c;
      },
    },
    inventory: this.inventory,
    store: this.store,
    clock: this.clock,
    bucket: BUCKET,
    metrics: this.metrics,
    alarms: { inAlarm: async (names: readonly string[]) => names.filter((x) => this.alarming.has(x)) },
    tagger: {
      tag: async (_cluster: string, instanceId: string, tags: Record<string, string>) => {
        this.tags.set(instanceId, { ...this.tags.get(instanceId), ...tags });
      },
    },
  });

  /** the fakes table: the real handlers where they exist here, the simulated cluster for commands */
  fakes(): Record<string, Fake> {
    const ports = this.ports();
    const real =
      (
        name: string,
        make: (deps: never) => (e: unknown, c: ReturnType<typeof lambdaContext>) => Promise<unknown>,
      ): Fake =>
      async (input) =>
        (await make(ports as never)(input, lambdaContext(name))) as Json;
    return {
      'prepare-patch': real('prepare-patch', prepare as never),
      'plan-patch': real('plan-patch', plan as never),
      'check-patch-gate': real('check-patch-gate', checkGate as never),
      'record-patch': real('record-patch', record as never),
      'finish-patch': real('finish-patch', finish as never),
      'acquire-lock': this.lock.acquire,
      'release-lock': this.lock.release,
      'publish-outcome': this.outcomes.publish,
      'send-command': this.sendCommand,
    };
  }

  /** runs patch-workers once; each run gets its own execution name, as a new window's run would */
  run(input: Record<string, Json> = {}, options: RunOptions & { executionName?: string } = {}) {
    return runWorkflow(
      'patch-workers',
      { cluster: CLUSTER, ...input },
      {
        fakes: this.fakes(),
        objects: {
          getObject: async (_bucket, key) => {
            const o = this.store.objects.get(key);
            if (!o) throw new Error(`NoSuchKey: ${key}`);
            return o.body;
          },
        },
        executionName: options.executionName ?? 'patch-workers-prod-eu-20261129T020000Z',
        ...options,
      },
    );
  }
}

export { CommandTimedOutError };
