/**
 * The EKS sandbox: an EKS cluster as LocalEks plays it (on 127.0.0.1, spoken to by the real
 * @aws-sdk/client-eks), DynamoDB (dynalite) for the lock and the approval gate, and the real
 * eks-upgrade / eks-patch-nodegroups ASL in the local runner with every Task wired to its real
 * handler. No etcd, no Kubernetes processes: AWS runs those for an EKS cluster.
 *
 * The runner's Wait states take no time, so each DescribeUpdate check is paced (`checkPauseMs`)
 * while LocalEks moves the update through InProgress on its own timer. The approval gate is the
 * real one (request-approval records it, decideApproval settles it) with an approver the sandbox
 * plays: it approves (or, with `approval: 'deny'`, denies) as `cli:sandbox-approver`.
 */
import { EKSClient } from '@aws-sdk/client-eks';
import { eksApi } from '../functions/shared/adapters/aws/eks-api';
import { dynamoApprovalStore } from '../functions/shared/adapters/aws/dynamo-approval-store';
import { dynamoLockStore } from '../functions/shared/adapters/aws/dynamo-lock-store';
import { parseConfig, type ClusterConfig } from '../functions/shared/domain/config';
import { decideApproval } from '../functions/shared/services/approvals';
import { eksPatchNodegroups, eksUpgrade } from '../functions/shared/workflows';
import type { Clock } from '../functions/shared/ports';
import { runWorkflow, type Fake, type Json, type RunEvent, type RunResult } from './asl-runner';
import { startDynalite, type LocalDynamo } from './dynalite';
import { sandboxHandlers, type Invocable } from './handlers';
import { configDirectory, memoryMetrics, memoryNotifier } from './local-adapters';
import { sandboxEksState, startLocalEks, type InjectedFailure, type LocalEks } from './local-eks';
import { lambdaContext } from './sandbox';
import { TaskBroker } from './task-broker';

export const EKS_SANDBOX_CLUSTER = 'sandbox-eks';
const TABLE = 'caretaker-sandbox-eks';
export const SANDBOX_APPROVER = 'cli:sandbox-approver';

export interface EksSandboxOptions {
  /** how long LocalEks keeps an update InProgress, default 1500 ms */
  updateMs?: number;
  /** the pause before each DescribeUpdate check (the ASL's Wait), default 300 ms */
  checkPauseMs?: number;
  /** what the sandbox's approver answers, default approve */
  approval?: 'approve' | 'deny';
  /** updates LocalEks lets fail */
  failures?: InjectedFailure[];
  /** the cluster's `eks` config block */
  eks?: Record<string, unknown>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** the functions the EKS workflows name, request-approval included */
export function eksSandboxFunctions(): string[] {
  return [
    ...new Set([eksUpgrade, eksPatchNodegroups].flatMap((w) => Object.values<string>(w.substitutions))),
  ].sort();
}

export class EksSandbox {
  readonly notifier = memoryNotifier();
  readonly metrics = memoryMetrics();
  readonly broker = new TaskBroker();
  /** every approval the sandbox's approver decided: who, what, on which gate */
  readonly decisions: { approvalId: string; decision: string; by: string }[] = [];
  private handlers!: Record<string, Invocable>;

  private constructor(
    readonly eks: LocalEks,
    readonly dynamo: LocalDynamo,
    readonly cluster: ClusterConfig,
    private readonly options: EksSandboxOptions,
  ) {}

  static async start(options: EksSandboxOptions = {}): Promise<EksSandbox> {
    const started: { stop(): Promise<void> }[] = [];
    try {
      const eks = await startLocalEks(sandboxEksState(EKS_SANDBOX_CLUSTER), { updateMs: options.updateMs });
      started.push(eks);
      for (const f of options.failures ?? []) eks.failNext(f);
      const dynamo = await startDynalite();
      started.push(dynamo);
      await dynamo.createTable(TABLE);
      const [cluster] = parseConfig({
        clusters: [{ name: EKS_SANDBOX_CLUSTER, kind: 'eks', region: 'eu-west-1', eks: options.eks ?? {} }],
      }).clusters;
      const sandbox = new EksSandbox(eks, dynamo, cluster!, options);
      sandbox.wire();
      return sandbox;
    } catch (e) {
      for (const s of started.reverse()) await s.stop().catch(() => undefined);
      throw e;
    }
  }

  private wire(): void {
    const clock: Clock = { now: () => new Date() };
    const clusters = configDirectory([this.cluster]);
    // the real SDK client, pointed at LocalEks: the REST-JSON protocol is exercised for real
    const client = new EKSClient({
      endpoint: this.eks.endpoint,
      region: 'eu-west-1',
      credentials: { accessKeyId: 'sandbox', secretAccessKey: 'sandbox' },
    });
    this.approvals = dynamoApprovalStore(TABLE, this.dynamo.doc);
    this.handlers = sandboxHandlers(
      {
        clusters,
        clock,
        eks: eksApi(client),
        surroundings: this.eks.surroundings,
        locks: dynamoLockStore(TABLE, this.dynamo.doc),
        approvals: this.approvals,
        notifier: this.notifier,
        metrics: this.metrics,
        callbacks: this.broker,
      },
      eksSandboxFunctions(),
    );
    this.clusters = clusters;
    this.clock = clock;
  }

  private approvals!: ReturnType<typeof dynamoApprovalStore>;
  private clusters!: ReturnType<typeof configDirectory>;
  private clock!: Clock;

  private tasks(): Record<string, Fake> {
    const fakes: Record<string, Fake> = {};
    for (const [name, handler] of Object.entries(this.handlers)) {
      fakes[name] = async (input) => (await handler(input, lambdaContext(name))) as Json;
    }
    // the ASL's Wait states take no time in the runner: pace the checks instead
    fakes['eks-check-update'] = async (input) => {
      await sleep(this.options.checkPauseMs ?? 300);
      return (await this.handlers['eks-check-update']!(input, lambdaContext('eks-check-update'))) as Json;
    };
    // the real gate: request-approval records it under a broker token; the sandbox's approver
    // decides it with decideApproval, as `caretaker approve` would
    fakes['request-approval'] = async (input) => {
      const { token, settled } = this.broker.issue();
      settled.catch(() => undefined);
      const asked = (await this.handlers['request-approval']!(
        { ...(input as object), taskToken: token },
        lambdaContext('request-approval'),
      )) as { approvalId: string };
      const decision = this.options.approval === 'deny' ? 'deny' : 'approve';
      const decided = await decideApproval(
        {
          approvalId: asked.approvalId,
          decision,
          by: SANDBOX_APPROVER,
          reason: decision === 'deny' ? 'the sandbox was told to deny' : 'sandbox run',
        },
        { approvals: this.approvals, callbacks: this.broker, clusters: this.clusters, clock: this.clock },
      );
      this.decisions.push({ approvalId: decided.approvalId, decision: decided.decision, by: decided.by });
      return (await settled) as Json;
    };
    return fakes;
  }

  /** runs state-machines/<workflow>.asl.json for the sandbox's EKS cluster */
  async run(
    workflow: string,
    input: Record<string, Json> = {},
    onEvent?: (e: RunEvent) => void,
  ): Promise<RunResult> {
    const name = `${workflow}-${EKS_SANDBOX_CLUSTER}-${new Date()
      .toISOString()
      .replace(/[-:]/g, '')
      .replace(/\.\d+Z$/, 'Z')}`;
    return runWorkflow(
      workflow,
      { cluster: EKS_SANDBOX_CLUSTER, requestedBy: 'cli:sandbox', ...input },
      { fakes: this.tasks(), executionName: name, onEvent },
    );
  }

  /** the versions LocalEks holds now */
  versions() {
    const s = this.eks.state;
    return {
      cluster: s.version,
      addons: { ...s.addons },
      nodegroups: Object.fromEntries(
        Object.entries(s.nodegroups).map(([n, g]) => [n, `${g.version} (${g.releaseVersion})`]),
      ),
    };
  }

  private stopping?: Promise<void>;

  stop(): Promise<void> {
    return (this.stopping ??= (async () => {
      this.broker.abandon('the sandbox is stopping');
      await this.eks.stop();
      await this.dynamo.stop();
    })());
  }
}
