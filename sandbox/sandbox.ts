/**
 * The local sandbox: a real 3-member etcd cluster with kubeadm-layout TLS, S3 (s3rver) and
 * DynamoDB (dynalite) on loopback, a LocalFleet playing EC2 + SSM, and the real ASL files run
 * in aws-local-stepfunctions with every Task wired to the real handlers over local adapters.
 * Nothing listens anywhere but 127.0.0.1, and `stop()` ends every process it started.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Context } from 'aws-lambda';
import { dynamoCommandTokenStore } from '../functions/shared/adapters/aws/dynamo-command-token-store';
import { makeHandler as makeRouteAlarmHandler } from '../functions/route-alarm/handler';
import { dynamoRemediationLedger } from '../functions/shared/adapters/aws/dynamo-remediation-ledger';
import { dynamoLockStore } from '../functions/shared/adapters/aws/dynamo-lock-store';
import { dynamoApprovalStore } from '../functions/shared/adapters/aws/dynamo-approval-store';
import { s3SnapshotStore } from '../functions/shared/adapters/aws/s3-snapshot-store';
import { COMMAND_NAMES } from '../functions/shared/domain/commands';
import { parseConfig, type ClusterConfig } from '../functions/shared/domain/config';
import type { ApprovalStore, Clock } from '../functions/shared/ports';
import {
  runDefinition,
  runWorkflow,
  type Fake,
  type Json,
  type RunEvent,
  type RunResult,
} from './asl-runner';
import { startDynalite, type LocalDynamo } from './dynalite';
import { registryKeys, startEtcdCluster, type EtcdCluster } from './etcd-cluster';
import { DEFAULT_ETCD_VERSION, etcdBinaries, type EtcdVersion } from './etcd-versions';
import {
  kubernetesBinaries,
  startKubernetes,
  type KubernetesBinaries,
  type KubernetesCluster,
} from './kubernetes';
import { SandboxNodeReplacer } from './node-replacer';
import { seedFiller } from './kubernetes-workload';
import { sandboxHandlers, type Invocable } from './handlers';
import { configDirectory, memoryAlarms, memoryMetrics, memoryNotifier, memoryTagger } from './local-adapters';
import {
  DEFAULT_UPDATES,
  followReboots,
  LocalFleet,
  PACKAGE_STAND_IN_DIR,
  type CommandRecord,
  type FollowedReboots,
  type LocalNode,
  type RebootEvent,
} from './local-fleet';
import { generateEtcdPki } from './pki';
import { objectReader, startLocalS3, type LocalS3 } from './s3rver';
import { TaskBroker } from './task-broker';
import { startKopsSide, type KopsSide } from './kops';
import { KUBE_STAND_IN_DIR, SANDBOX_TARGET_GROUP, SandboxUpgrades } from './control-plane-upgrades';

export const SANDBOX_CLUSTER = 'sandbox';
const TABLE = 'caretaker-sandbox';
const BUCKET = 'caretaker-sandbox-snapshots';
const AWS_CLI = '/usr/bin/aws';

/** where tests and the CLI inject failures and watch progress; settable while the sandbox is up */
export interface SandboxHooks {
  /** before a node command's script starts (e.g. stop an etcd member "mid-run") */
  beforeCommand?: (record: CommandRecord, sandbox: Sandbox) => Promise<void> | void;
  /** after a node command's script ended */
  afterCommand?: (record: CommandRecord) => void;
  /** when a node goes down for a reboot (exit 194/3010, or asked) and when SSM has it Online again */
  onReboot?: (event: RebootEvent, sandbox: Sandbox) => void;
  /** when an approval gate has been recorded and waits (the sandbox command approves it as an operator would) */
  onApprovalRequested?: (request: Record<string, unknown>, sandbox: Sandbox) => Promise<void> | void;
}

export interface SandboxOptions extends SandboxHooks {
  /** /registry keys to seed (spread over deployments, pods, secrets, configmaps, …) */
  keys?: number;
  /** bytes per seeded value; keys × valueBytes ≈ the database size */
  valueBytes?: number;
  workers?: number;
  /** how long a node is offline while it reboots, default 1 s */
  rebootMs?: number;
  /** the etcd version of the cluster and of the nodes' etcdctl/etcdutl, default 3.6 */
  etcdVersion?: EtcdVersion;
  /**
   * a real Kubernetes control plane on the etcd cluster (sandbox/kubernetes.ts): API servers
   * behind a load balancer, controller-manager, scheduler, KWOK kubelets, the seeded workload;
   * the `keys` filler then becomes ConfigMaps the API server can read. Default false.
   */
  kubernetes?: boolean;
  /**
   * with Kubernetes: the version the cluster starts at (its kubeadm static pods and kubelets), so
   * an upgrade to the built version has something to do; `previousMinor(built)` in
   * `npm run sandbox -- upgrade`. Default: the built version, and no static pods.
   */
  upgradeFrom?: string;
  /** more of the sandbox cluster's config block (ChatOps: `slack`, `approval`) */
  clusterConfig?: Record<string, unknown>;
  /** more ports for the handlers (ChatOps: `chat`, `messenger`), by the names their deps use */
  ports?: Record<string, unknown>;
  /**
   * kops: the nodes are kops control-plane nodes (etcd inside etcd-manager's containers, played by
   * the crictl stand-in; a second small etcd for events) and a kops state store in the local S3
   * holds etcd-manager-layout backups of the sandbox's etcd (sandbox/kops.ts). Default kubeadm.
   */
  kind?: 'kubeadm' | 'kops';
  /** kops: who takes the backups, default etcd-manager (the kops default) */
  backupSource?: 'caretaker' | 'etcd-manager';
  /** kops: etcd.events: true, the events etcd as its own backup and verification series */
  kopsEvents?: boolean;
  /** etcd's --quota-backend-bytes on every member, and the cluster's etcd.quotaBackendBytes (remediate db-size) */
  quotaBackendBytes?: number;
}

/** how the seeded keys split across resources: roughly a small real cluster's shape */
const RESOURCE_SHARES: Record<string, number> = {
  pods: 0.4,
  configmaps: 0.15,
  secrets: 0.15,
  'deployments.apps': 0.05,
  'replicasets.apps': 0.1,
  services: 0.05,
  events: 0.08,
  namespaces: 0.02,
};

export function seedCounts(total: number): Record<string, number> {
  const counts: Record<string, number> = {};
  let left = total;
  const entries = Object.entries(RESOURCE_SHARES);
  entries.forEach(([resource, share], i) => {
    const n = i === entries.length - 1 ? left : Math.max(1, Math.floor(total * share));
    counts[resource] = Math.max(0, Math.min(n, left));
    left -= counts[resource]!;
  });
  return counts;
}

/** the Lambda context each sandbox handler is called with */
export const lambdaContext = (name: string): Context => ({
  callbackWaitsForEmptyEventLoop: false,
  functionName: `caretaker-${name}`,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:eu-west-1:000000000000:function:caretaker-${name}`,
  memoryLimitInMB: '256',
  awsRequestId: `sandbox-${Date.now()}`,
  logGroupName: `/aws/lambda/caretaker-${name}`,
  logStreamName: 'sandbox',
  getRemainingTimeInMillis: () => 900_000,
  done: () => undefined,
  fail: () => undefined,
  succeed: () => undefined,
});

export class Sandbox {
  readonly notifier = memoryNotifier();
  readonly metrics = memoryMetrics();
  readonly broker = new TaskBroker();
  readonly seeded: Record<string, number>;
  readonly hooks: SandboxHooks = {};
  fleet!: LocalFleet;
  private handlers!: Record<string, Invocable>;
  /** the operation lock as the workflows see it (tests hold it to force a Skipped run) */
  locks!: ReturnType<typeof dynamoLockStore>;
  /** the approval gates' records; decideApproval with these ports settles a waiting gate */
  approvals!: ApprovalStore;

  private constructor(
    readonly dir: string,
    readonly etcd: EtcdCluster,
    readonly s3: LocalS3,
    readonly dynamo: LocalDynamo,
    readonly cluster: ClusterConfig,
    seeded: Record<string, number>,
  ) {
    this.seeded = seeded;
  }

  static async start(options: SandboxOptions = {}): Promise<Sandbox> {
    const dir = await mkdtemp(join(tmpdir(), 'caretaker-sandbox-'));
    const started: { stop(): Promise<void> }[] = [];
    try {
      const pki = await generateEtcdPki(join(dir, 'pki'));
      const binaries = etcdBinaries(options.etcdVersion ?? DEFAULT_ETCD_VERSION);
      const etcd = await startEtcdCluster({
        pki,
        dir: join(dir, 'etcd'),
        binaries,
        ...(options.quotaBackendBytes && { quotaBackendBytes: options.quotaBackendBytes }),
      });
      started.push(etcd);
      // an API server cannot read placeholder values: with Kubernetes the filler is ConfigMaps
      const seeded = options.kubernetes
        ? await seedFiller(etcd, options.keys ?? 3000, options.valueBytes ?? 200)
        : seedCounts(options.keys ?? 3000);
      if (!options.kubernetes) await etcd.seed(registryKeys(seeded), 'v'.repeat(options.valueBytes ?? 200));
      const s3 = await startLocalS3({ bucket: BUCKET });
      started.push(s3);
      const dynamo = await startDynalite();
      started.push(dynamo);
      await dynamo.createTable(TABLE);

      const kops =
        options.kind === 'kops'
          ? await startKopsSide({ dir: join(dir, 'kops'), pki, binaries, main: etcd, s3 })
          : undefined;
      if (kops) started.push(kops);
      const [cluster] = parseConfig({
        clusters: [
          {
            name: SANDBOX_CLUSTER,
            kind: options.kind ?? 'kubeadm',
            region: 'eu-west-1',
            etcd: {
              // kops: etcdctl runs inside the etcd-manager container (the crictl stand-in)
              etcdctl: kops ? 'crictl' : 'host',
              caFile: pki.ca.cert,
              certFile: pki.healthcheckClient.cert,
              keyFile: pki.healthcheckClient.key,
              dataDir: join(dir, 'nodes'),
              ...(options.quotaBackendBytes && { quotaBackendBytes: options.quotaBackendBytes }),
              ...(kops && options.kopsEvents && { events: true }),
            },
            ...(kops && { kops: kops.config }),
            // remediation with its defaults: `npm run sandbox -- remediate <scenario>` feeds it alarms
            remediation: {},
            backup: {
              retention: { keepLast: 3, hourly: 0, daily: 0, weekly: 0, monthly: 0 },
              ...(kops && { source: options.backupSource ?? 'etcd-manager' }),
            },
            // the LocalFleet "launches" scratch nodes on this machine; the name is only recorded
            restoreVerify: { launchTemplate: 'sandbox-scratch', scratchTtlMinutes: 30 },
            // the API servers' load balancer, through the ELBv2 stand-in (control-plane-upgrades.ts)
            ...(options.kubernetes ? { controlPlane: { targetGroupArns: [SANDBOX_TARGET_GROUP] } } : {}),
            // worker patching: one node at a time; `patch` runs with `now` (whenever it is started)
            // the seeded workload has PodDisruptionBudgets that allow no disruption and a bare
            // pod (ops/toolbox): a short drain, then deletion instead of eviction, --force
            patching: {
              maxUnavailable: 1,
              drain: {
                timeoutSeconds: 30,
                onPdbTimeout: 'disable-eviction',
                disableEvictionAfterSeconds: 10,
                force: true,
              },
              health: { readySeconds: 0 },
            },
            ...options.clusterConfig,
          },
        ],
      }).clusters;
      const sandbox = new Sandbox(dir, etcd, s3, dynamo, cluster!, seeded);
      sandbox.kops = kops;
      sandbox.hooks.beforeCommand = options.beforeCommand;
      sandbox.hooks.afterCommand = options.afterCommand;
      sandbox.hooks.onReboot = options.onReboot;
      sandbox.hooks.onApprovalRequested = options.onApprovalRequested;
      await sandbox.wire(options, started);
      await kops?.writeBackups();
      return sandbox;
    } catch (e) {
      for (const s of started.reverse()) await s.stop().catch(() => undefined);
      await rm(dir, { recursive: true, force: true });
      throw e;
    }
  }

  /** kops: the events etcd, the etcd-manager container roots and the state store */
  kops?: KopsSide;

  /** the nodes' PATH: the cluster's etcd version first, so scripts find its etcdctl and etcdutl */
  private get nodePath(): string {
    // kube-apiserver and kubectl too, when Kubernetes runs: restore verification's API check
    const kube = this.kubernetesBin ? `${this.kubernetesBin.binDir}:` : '';
    // the recording package managers first: os-patch never reaches this machine's real apt
    return `${PACKAGE_STAND_IN_DIR}:${this.etcd.binaries.binDir}:${kube}${process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`;
  }

  /** the ELBv2 stand-in, the static pods and the kubeadm stand-in's other half, with Kubernetes */
  upgrades?: SandboxUpgrades;

  /** the Kubernetes control plane, when started with `kubernetes: true` */
  kubernetes?: KubernetesCluster;
  private kubernetesBin?: KubernetesBinaries;

  private async wire(options: SandboxOptions, started: { stop(): Promise<void> }[] = []): Promise<void> {
    if (options.kubernetes) this.kubernetesBin = kubernetesBinaries();
    const nodes: LocalNode[] = [];
    for (const [i, member] of this.etcd.members.entries()) {
      const workDir = join(this.dir, 'nodes', `cp-${i}`);
      await mkdir(workDir, { recursive: true });
      nodes.push({
        instanceId: `i-0c0ffee00000000${i + 1}`,
        name: `control-plane-${i + 1}`,
        tags: { ...this.cluster.controlPlaneTags, Name: `control-plane-${i + 1}` },
        env: {
          ...this.s3.cliEnv,
          CARETAKER_AWS_CLI: AWS_CLI,
          PATH: this.nodePath,
          CARETAKER_ETCD_ENDPOINT: member.clientUrl,
          CARETAKER_WORK_DIR: workDir,
          // kops: crictl (the stand-in) finds etcd-manager-main-* and etcd-manager-events-* pods
          ...this.kops?.nodeEnv(i, this.nodePath),
          // systemd played by the sandbox (serveSystemctl): etcd-restart-member really restarts the member
          ...this.systemctlEnv(i),
        },
        online: true,
      });
    }
    this.serveSystemctl();
    for (let i = 0; i < (options.workers ?? 2); i++) {
      nodes.push({
        instanceId: `i-0beef000000000${String(i + 1).padStart(2, '0')}`,
        name: `worker-${i + 1}`,
        tags: { ...this.cluster.workerTags, Name: `worker-${i + 1}` },
        env: {
          ...this.s3.cliEnv,
          CARETAKER_AWS_CLI: AWS_CLI,
          PATH: this.nodePath,
          // node-prune's crictl and journalctl are the recording stand-ins of test/support/bin
          ...this.workerToolsEnv(`worker-${i + 1}`),
        },
        online: true,
      });
    }

    const clock: Clock = { now: () => new Date() };
    const clusters = configDirectory([this.cluster]);
    const locks = dynamoLockStore(TABLE, this.dynamo.doc);
    this.locks = locks;
    const tokens = dynamoCommandTokenStore(TABLE, this.dynamo.doc);
    this.approvals = dynamoApprovalStore(TABLE, this.dynamo.doc);
    const store = s3SnapshotStore(BUCKET, this.s3.client());

    this.fleet = new LocalFleet({
      nodes,
      // each node's root (its boot_id) when Kubernetes gave it none (CARETAKER_NODE_ROOT)
      dir: join(this.dir, 'roots'),
      rebootMs: options.rebootMs,
      onReboot: (event) => this.hooks.onReboot?.(event, this),
      beforeCommand: (record) => {
        // a restart answered earlier must not answer this one
        if (record.documentName === 'etcd-restart-member') {
          this.etcd.members.forEach((_, i) =>
            rmSync(this.systemctlEnv(i).SYSTEMCTL_RESTART_DONE, { force: true }),
          );
        }
        return this.hooks.beforeCommand?.(record, this);
      },
      afterCommand: (record) => this.hooks.afterCommand?.(record),
      scratchEnv: (instanceId) => {
        // a fresh machine: its own empty work dir
        const workDir = join(this.dir, 'nodes', instanceId);
        mkdirSync(workDir, { recursive: true });
        return {
          ...this.s3.cliEnv,
          CARETAKER_AWS_CLI: AWS_CLI,
          PATH: this.nodePath,
          CARETAKER_WORK_DIR: workDir,
        };
      },
      // EventBridge: the status-change event goes to the real completion handler
      onStatusChange: async (event) => {
        await this.handlers['complete-command']!(event, lambdaContext('complete-command'));
      },
    });
    const fleet = this.fleet;
    // node-notready's EC2 reboot and Auto Scaling replacement, on the fleet and the Nodes
    this.replacer = new SandboxNodeReplacer(fleet, () => this.kubernetes);
    // every machine a Debian with a few security updates pending (fleet.node(id).packages changes it)
    for (const node of fleet.nodes.values()) node.packages.setFlavor('debian').offer(DEFAULT_UPDATES);
    if (options.kubernetes) await this.startKubernetes(started, options.upgradeFrom);
    if (this.kubernetes) {
      this.upgrades = await SandboxUpgrades.start({
        kubernetes: this.kubernetes,
        etcd: this.etcd,
        from: options.upgradeFrom ?? this.kubernetes.binaries.version,
      });
      started.push(this.upgrades);
      // control-plane nodes: kubeadm, systemctl and the kube packages' apt first on PATH, their own API server
      for (const spec of nodes.filter((n) => n.name.startsWith('control-plane-'))) {
        Object.assign(spec.env, this.upgrades.nodeEnv(spec.name, PACKAGE_STAND_IN_DIR), {
          PATH: `${KUBE_STAND_IN_DIR}:${spec.env.PATH}`,
        });
      }
      // workers: the same stand-ins for their kubelet upgrade (kubelet-upgrade, after the control plane)
      for (const spec of nodes.filter((n) => n.name.startsWith('worker-'))) {
        Object.assign(spec.env, this.upgrades.workerEnv(spec.name, PACKAGE_STAND_IN_DIR), {
          PATH: `${KUBE_STAND_IN_DIR}:${spec.env.PATH}`,
        });
      }
    }
    // the fleet runs documents by their logical names: every command of the catalog
    const documents = Object.fromEntries(COMMAND_NAMES.map((name) => [name, name]));
    // every function a registry workflow names, each given the ports it asks for by name
    this.handlers = sandboxHandlers({
      clusters,
      inventory: fleet.inventory,
      runner: fleet.runner,
      fleet: fleet.scratch,
      tokens,
      clock,
      documents,
      bucket: BUCKET,
      locks,
      // remediation's cooldowns and attempts per day, in the same local table
      ledger: dynamoRemediationLedger(TABLE, this.dynamo.doc),
      store,
      // kops: etcd-manager's backups in the state store, read only
      stateStores: (bucket: string) => s3SnapshotStore(bucket, this.s3.client()),
      notifier: this.notifier,
      metrics: this.metrics,
      callbacks: this.broker,
      approvals: this.approvals,
      targetGroups: this.upgrades?.targetGroups,
      alarms: this.alarms,
      tagger: this.tagger,
      replacer: this.replacer,
      ...options.ports,
    });
  }

  /** where control-plane node `i`'s systemctl stand-in (test/support/bin/systemctl) asks and is answered */
  private systemctlEnv(i: number) {
    const dir = join(this.dir, 'systemd', `cp-${i}`);
    mkdirSync(dir, { recursive: true });
    return {
      SYSTEMCTL_LOG: join(dir, 'systemctl.log'),
      SYSTEMCTL_RESTART_REQUEST: join(dir, 'restart-request'),
      SYSTEMCTL_RESTART_DONE: join(dir, 'restart-done'),
    };
  }

  /** where worker `name`'s crictl and journalctl stand-ins (test/support/bin) record their invocations */
  private workerToolsEnv(name: string) {
    const dir = join(this.dir, 'tools', name);
    mkdirSync(dir, { recursive: true });
    return { CRICTL_LOG: join(dir, 'crictl.log'), JOURNALCTL_LOG: join(dir, 'journalctl.log') };
  }

  /** every `crictl` or `journalctl` invocation on worker `name`, one per line, arguments tab-separated */
  workerToolLog(name: string, tool: 'crictl' | 'journalctl'): string {
    const env = this.workerToolsEnv(name);
    const log = tool === 'crictl' ? env.CRICTL_LOG : env.JOURNALCTL_LOG;
    return existsSync(log) ? readFileSync(log, 'utf8') : '';
  }

  private systemd?: NodeJS.Timeout;
  /** every `systemctl` invocation on control-plane node `i`, one per line, arguments tab-separated */
  systemctlLog(i: number): string {
    const log = this.systemctlEnv(i).SYSTEMCTL_LOG;
    return existsSync(log) ? readFileSync(log, 'utf8') : '';
  }

  /**
   * Plays systemd for the control-plane nodes: when a node's `systemctl restart etcd` asks, the
   * member's process is really stopped by PID and started again on its data dir
   * (EtcdCluster.restartMember), then the stand-in is told it is done.
   */
  private serveSystemctl(): void {
    let busy = false;
    this.systemd = setInterval(() => {
      if (busy) return;
      const i = this.etcd.members.findIndex((_, n) =>
        existsSync(this.systemctlEnv(n).SYSTEMCTL_RESTART_REQUEST),
      );
      if (i < 0) return;
      busy = true;
      const env = this.systemctlEnv(i);
      rmSync(env.SYSTEMCTL_RESTART_REQUEST, { force: true });
      void this.etcd
        .restartMember(i)
        .catch((e: unknown) =>
          process.stderr.write(`sandbox: systemd: etcd member ${i + 1} did not restart: ${String(e)}\n`),
        )
        .then(() => writeFileSync(env.SYSTEMCTL_RESTART_DONE, ''))
        .finally(() => {
          busy = false;
        });
    }, 200);
    this.systemd.unref();
  }

  /**
   * An EventBridge alarm state change through the real route-alarm handler, as the stack wires
   * it; the remediate execution it starts runs here (the real ASL, the real handlers).
   * @returns what route-alarm answered, and the run when it started one
   */
  async routeAlarm(
    event: unknown,
    onEvent?: (e: RunEvent) => void,
    override: Record<string, Json> = {},
    waitMs?: Record<string, number>,
  ): Promise<{ routed: Record<string, unknown>; input?: Record<string, Json>; result?: RunResult }> {
    let started: Record<string, Json> | undefined;
    const handler = makeRouteAlarmHandler({
      clusters: async () => [this.cluster],
      starter: {
        start: async (arn: string, name: string, input: unknown) => {
          started = input as Record<string, Json>;
          return { executionArn: `${arn}:${name}`, duplicate: false };
        },
      },
      stateMachineArn: 'arn:aws:states:eu-west-1:000000000000:stateMachine:caretaker-remediate',
      log: () => undefined,
    });
    const routed = (await handler(event, lambdaContext('route-alarm'))) as Record<string, unknown>;
    if (!started) return { routed };
    // the started execution's own input, as Step Functions would hand it over
    const input: Record<string, Json> = { ...started, ...override };
    delete input['cluster'];
    return { routed, input, result: await this.run('remediate', onEvent, input, undefined, waitMs) };
  }

  /** the fakes table for the ASL runner: every function is its real handler */
  private tasks(): Record<string, Fake> {
    const fakes: Record<string, Fake> = {};
    for (const [name, handler] of Object.entries(this.handlers)) {
      fakes[name] = async (input) => (await handler(input, lambdaContext(name))) as Json;
    }
    // the approval gate: record it with a broker token, then wait for decideApproval
    // (`caretaker approve`, a Slack button) to settle it
    fakes['request-approval'] = async (input) => {
      const { token, settled } = this.broker.issue();
      try {
        await this.handlers['request-approval']!(
          { ...(input as object), taskToken: token },
          lambdaContext('request-approval'),
        );
        void Promise.resolve(this.hooks.onApprovalRequested?.(input as Record<string, unknown>, this)).catch(
          (e: Error) => void this.broker.fail(token, 'States.TaskFailed', e.message),
        );
      } catch (e) {
        void this.broker.fail(token, 'States.TaskFailed', (e as Error).message);
        settled.catch(() => undefined);
        throw e;
      }
      return (await settled) as Json;
    };
    // a .waitForTaskToken step: send, then wait until complete-command settles the token
    fakes['send-command'] = async (input) => {
      const { token, settled } = this.broker.issue();
      try {
        await this.handlers['send-command']!(
          { ...(input as object), taskToken: token },
          lambdaContext('send-command'),
        );
      } catch (e) {
        void this.broker.fail(token, 'States.TaskFailed', (e as Error).message);
        settled.catch(() => undefined);
        throw e;
      }
      return (await settled) as Json;
    };
    return fakes;
  }

  /** CloudWatch alarms as patch-workers' blockers see them (put a name in `alarming`) */
  readonly alarms = memoryAlarms();
  /** EC2 tags record-patch wrote, by instance */
  readonly tagger = memoryTagger(
    (cluster, instanceId) =>
      cluster === SANDBOX_CLUSTER && this.fleet.nodes.get(instanceId)?.tags['caretaker:cluster'] === cluster,
  );

  /**
   * runs state-machines/<workflow>.asl.json for the sandbox cluster; `input` and `name` as a
   * trigger gives them (the Slack receiver's start)
   */
  async run(
    workflow: string,
    onEvent?: (e: RunEvent) => void,
    input: Record<string, Json> = {},
    executionName?: string,
    waitMs?: Record<string, number>,
  ): Promise<RunResult> {
    const name =
      executionName ??
      `${workflow}-${SANDBOX_CLUSTER}-${new Date()
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z')}`;
    return runWorkflow(
      workflow,
      { cluster: SANDBOX_CLUSTER, ...input },
      { fakes: this.tasks(), executionName: name, onEvent, waitMs, objects: objectReader(this.s3.client()) },
    );
  }

  /** runs an ASL document that is not a registry workflow (the approval gate's example) with the real handlers */
  async runDefinition(
    name: string,
    text: string,
    input: Record<string, Json>,
    substitutions: Record<string, string> = {},
    executionName?: string,
  ): Promise<RunResult> {
    const fakes = this.tasks();
    // a gate whose substitution no registry workflow names yet is still request-approval
    fakes['RequestApprovalFunctionArn'] = fakes['request-approval']!;
    return runDefinition(
      name,
      text,
      { ...input, cluster: SANDBOX_CLUSTER },
      {
        fakes,
        substitutions,
        ...(executionName && { executionName }),
      },
    );
  }

  /** what a user can point etcdctl and the AWS CLI at while the sandbox is up */
  endpoints() {
    const tls = this.etcd.clientTls;
    return {
      etcd: this.etcd.members.map((m) => m.clientUrl),
      etcdctl: `ETCDCTL_API=3 etcdctl --endpoints=${this.etcd.members.map((m) => m.clientUrl).join(',')} --cacert=${tls.caFile} --cert=${tls.certFile} --key=${tls.keyFile} endpoint status -w table`,
      s3: this.s3.endpoint,
      awsS3Ls: `AWS_CONFIG_FILE=${this.s3.cliEnv.AWS_CONFIG_FILE} AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER ${AWS_CLI} --endpoint-url ${this.s3.endpoint} s3 ls --recursive s3://${BUCKET}/`,
      dynamodb: this.dynamo.endpoint,
      bucket: BUCKET,
      table: TABLE,
      dir: this.dir,
      kubernetes: this.kubernetes?.url,
      kubeconfig: this.kubernetes?.kubeconfig,
    };
  }

  /** every PID the sandbox started that still runs */
  get pids(): number[] {
    return [...this.etcd.pids, ...(this.kops?.pids ?? []), ...(this.kubernetes?.pids ?? [])];
  }

  /**
   * Kubernetes on the fleet's nodes: a Node object for each, as the fleet describes it (name,
   * role, provider id, boot id), and the admin kubeconfig of a kubeadm control-plane node under
   * each control-plane node's root, at `etc/kubernetes/admin.conf`
   */
  private async startKubernetes(
    started: { stop(): Promise<void> }[],
    kubeletVersion?: string,
  ): Promise<void> {
    this.kubernetes = await startKubernetes({
      etcd: this.etcd,
      nodes: this.fleet.kubernetesNodes(),
      dir: join(this.dir, 'kubernetes'),
      binaries: this.kubernetesBin,
      kubeletVersion,
    });
    started.push(this.kubernetes);
    // a reboot of the fleet turns the Node NotReady, then Ready with the new boot id
    this.rebootsInKubernetes = followReboots(this.fleet, this.kubernetes, (e) =>
      process.stderr.write(`sandbox: ${e.message}\n`),
    );
  }

  /** EC2 RebootInstances and the Auto Scaling group's replacement, as node-notready calls them */
  replacer!: SandboxNodeReplacer;

  /** the fleet's reboots as the Kubernetes Nodes show them (with `kubernetes: true`) */
  rebootsInKubernetes?: FollowedReboots;

  private stopping?: Promise<void>;

  /** stops every process and server it started, by PID, and removes its directory; once */
  stop(): Promise<void> {
    return (this.stopping ??= this.stopAll());
  }

  private async stopAll(): Promise<void> {
    if (this.systemd) clearInterval(this.systemd);
    this.broker.abandon('the sandbox is stopping');
    await this.fleet?.settle();
    await this.rebootsInKubernetes?.settle();
    this.rebootsInKubernetes?.stop();
    await this.upgrades?.stop();
    await this.kubernetes?.stop();
    await this.etcd.stop();
    await this.kops?.stop();
    await this.s3.stop();
    await this.dynamo.stop();
    await rm(this.dir, { recursive: true, force: true });
  }
}
