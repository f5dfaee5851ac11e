/**
 * The small interfaces services are written against. AWS adapters live in adapters/aws; the
 * sandbox and tests provide their own. The domain never imports these implementations.
 */
import type { ClusterConfig } from './domain/config';
import type { LockScope } from './domain/locks';
import type {
  AddonVersion,
  EksUpdate,
  Insight,
  InstalledAddon,
  ManagedNodegroup,
  SubnetCapacity,
  UnmanagedCapacity,
  UpdateTarget,
} from './domain/eks';
import type { ApprovalRecord, ApprovalStatus } from './domain/approvals';

export interface Clock {
  now(): Date;
}

/** where a cluster's resolved configuration comes from (SSM Parameter Store in AWS) */
export interface ClusterDirectory {
  /** @throws ClusterNotFoundError */
  get(name: string): Promise<ClusterConfig>;
}

export interface Instance {
  instanceId: string;
  name?: string;
  privateIp?: string;
  availabilityZone?: string;
}

export interface Inventory {
  /** running instances carrying every one of `tags` that SSM reports Online */
  findManagedInstances(tags: Record<string, string>): Promise<Instance[]>;
}

export interface CommandRequest {
  /** the deployed SSM document name */
  documentName: string;
  instanceId: string;
  parameters: Record<string, string>;
  /** SendCommand's TimeoutSeconds: how long the command may wait to be delivered and start */
  deliveryTimeoutSeconds: number;
  comment: string;
}

export type InvocationStatus =
  'Pending' | 'InProgress' | 'Delayed' | 'Success' | 'Cancelled' | 'TimedOut' | 'Failed' | 'Cancelling';

export interface Invocation {
  status: InvocationStatus;
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface CommandRunner {
  send(request: CommandRequest): Promise<{ commandId: string }>;
  /**
   * the command sent to `instanceId` since `since` whose comment carries `marker`: how a retried
   * send-command finds a send whose commandId was never recorded
   */
  findSent(instanceId: string, marker: string, since: Date): Promise<{ commandId: string } | undefined>;
  /** @returns undefined when SSM does not know the invocation (yet) */
  getInvocation(commandId: string, instanceId: string): Promise<Invocation | undefined>;
}

/** a Step Functions task token waiting on one command invocation */
export interface PendingCommand {
  commandId: string;
  instanceId: string;
  taskToken: string;
  cluster: string;
  command: string;
  sentAt: string;
  /** ISO time after which the reconciler fails the task as timed out */
  deadline: string;
}

/**
 * The intent to send one command, recorded before SendCommand: one per execution, state and
 * subject, so a retried or duplicated send-command finds it and never sends twice.
 */
export interface CommandIntent {
  /** sha256 of execution, state and subject (hex) */
  id: string;
  executionId: string;
  state: string;
  subject: string;
  command: string;
  instanceId: string;
  cluster: string;
  claimedAt: string;
  /** set once SendCommand answered */
  commandId?: string;
}

/**
 * - `new`: nobody claimed it before; send
 * - `sent`: an earlier attempt sent it (`commandId`); do not send
 * - `in-flight`: an earlier attempt claimed it moments ago and recorded no send yet
 * - `taken-over`: an earlier attempt claimed it long ago, recorded no send, and is gone; this
 *   attempt holds the claim now (look for the earlier send before sending)
 */
export type IntentClaim =
  | { outcome: 'new' }
  | { outcome: 'sent'; commandId: string }
  | { outcome: 'in-flight'; previous: CommandIntent }
  | { outcome: 'taken-over'; previous: CommandIntent };

export interface CommandTokenStore {
  /** records the intent with a conditional write; `staleBefore`: when an unsent claim counts as abandoned */
  claim(intent: CommandIntent, staleBefore: string): Promise<IntentClaim>;
  /** the send happened: later attempts find the commandId */
  recordSent(intentId: string, commandId: string): Promise<void>;
  put(pending: PendingCommand): Promise<void>;
  /** removes and returns the record; undefined when another completer already took it */
  take(commandId: string, instanceId: string): Promise<PendingCommand | undefined>;
  list(): Promise<PendingCommand[]>;
}

export interface TaskCallbacks {
  succeed(taskToken: string, output: unknown): Promise<void>;
  fail(taskToken: string, error: string, cause: string): Promise<void>;
}

export interface Lease {
  cluster: string;
  owner: string;
  operation: string;
  acquiredAt: string;
  expiresAt: string;
  /** the scope this lease holds; absent in a request for every scope */
  scope?: LockScope;
}

/** a lease asked for: `scopes` (default: every scope) are taken together or not at all */
export interface LeaseRequest extends Lease {
  scopes?: readonly LockScope[];
}

export interface LockStore {
  /** takes every scope when each is free, expired, or already ours; otherwise returns a holder */
  acquire(request: LeaseRequest): Promise<{ acquired: true } | { acquired: false; heldBy: Lease }>;
  /**
   * extends our own unexpired lease on every scope to `expiresAt` (checked at `acquiredAt`);
   * never takes a free or lapsed one. `heldBy`: who holds it now (absent when nobody does)
   */
  renew(
    request: LeaseRequest,
  ): Promise<{ renewed: true } | { renewed: false; scope: LockScope; heldBy?: Lease }>;
  /** the current lease of each scope, expired or not; undefined where there is none */
  holders(cluster: string, scopes: readonly LockScope[]): Promise<(Lease | undefined)[]>;
  /** releases every scope this owner holds; false when none was ours (anymore) */
  release(cluster: string, owner: string): Promise<boolean>;
}

export interface StoredObject {
  key: string;
  size: number;
  lastModified: Date;
}

export interface ObjectHead {
  size: number;
  metadata: Record<string, string>;
  /** set when Object Lock retention or a legal hold forbids deleting the object */
  lockedUntil?: Date;
  legalHold?: boolean;
}

export interface SnapshotStore {
  list(prefix: string): Promise<StoredObject[]>;
  head(key: string): Promise<ObjectHead | undefined>;
  /** undefined when the object does not exist; @throws CorruptObjectError when it is not JSON */
  getJson(key: string): Promise<unknown>;
  getTags(key: string): Promise<Record<string, string>>;
  /** replaces the object's whole tag set */
  putTags(key: string, tags: Record<string, string>): Promise<void>;
  putJson(key: string, value: unknown): Promise<void>;
  delete(key: string): Promise<void>;
}

export interface ScratchLaunch {
  cluster: string;
  launchTemplate: string;
  launchTemplateVersion: string;
  subnetId?: string;
  instanceType?: string;
  tags: Record<string, string>;
  /** makes a retried launch return the same instance instead of a second one */
  clientToken: string;
}

export interface ScratchInstance {
  instanceId: string;
  tags: Record<string, string>;
  state: string;
}

/** throwaway instances for restore verification; never used on a cluster's own nodes */
export interface ScratchFleet {
  launch(request: ScratchLaunch): Promise<{ instanceId: string }>;
  /** every instance carrying the scratch role tag, in any state but terminated */
  listScratch(): Promise<ScratchInstance[]>;
  terminate(instanceId: string): Promise<void>;
}

export interface Notifier {
  publish(subject: string, message: string, attributes: Record<string, string>): Promise<void>;
}

export interface MetricSink {
  /** one datapoint per name, dimensioned by cluster and workflow */
  record(
    dimensions: Record<string, string>,
    values: Record<
      string,
      { value: number; unit: 'Count' | 'Bytes' | 'Seconds' | 'Milliseconds' | 'Percent' | 'None' }
    >,
  ): Promise<void>;
}

/** an EKS cluster as the upgrade campaign needs it */
export interface EksClusterInfo {
  name: string;
  arn?: string;
  /** the control plane's Kubernetes minor: `1.31` */
  version: string;
  status: string;
  /** the subnets its control-plane network interfaces live in */
  subnetIds: string[];
  /** EKS Auto Mode runs (and upgrades) the nodes itself */
  autoMode: boolean;
}

/**
 * The EKS API, narrowed to what upgrade campaigns and node-group patching do. Every change takes
 * a client request token, so a retried Lambda starts no second update.
 */
export interface EksApi {
  /** @throws ClusterNotFoundError when EKS has no cluster of that name */
  describeCluster(name: string): Promise<EksClusterInfo>;
  /** ListInsights (category UPGRADE_READINESS) with DescribeInsight's detail for those not PASSING */
  upgradeInsights(cluster: string): Promise<Insight[]>;
  listAddons(cluster: string): Promise<InstalledAddon[]>;
  /** DescribeAddonVersions for one add-on and Kubernetes version */
  addonVersions(addon: string, kubernetesVersion: string): Promise<AddonVersion[]>;
  managedNodegroups(cluster: string): Promise<ManagedNodegroup[]>;
  startUpdate(
    cluster: string,
    target: UpdateTarget,
    options: { force: boolean; token: string },
  ): Promise<{ updateId: string }>;
  describeUpdate(cluster: string, updateId: string, target: UpdateTarget): Promise<EksUpdate>;
}

/** what around an EKS cluster the campaign reads but never changes: subnets, other nodes, AMI releases */
export interface EksSurroundings {
  subnets(ids: readonly string[]): Promise<SubnetCapacity[]>;
  /** running nodes of the cluster that no managed node group owns (self-managed, Karpenter, Auto Mode) */
  unmanagedCapacity(cluster: string): Promise<UnmanagedCapacity[]>;
  /** the newest EKS-optimized AMI release for a node group's AMI type and Kubernetes version */
  latestReleaseVersion(amiType: string, kubernetesVersion: string): Promise<string | undefined>;
}

/** one target of an ELBv2 target group: an instance id (or IP) and, when registered with one, its port */
export interface LoadBalancerTarget {
  targetGroupArn: string;
  id: string;
  port?: number;
}

/** DescribeTargetHealth's view of one target */
export interface TargetHealth extends LoadBalancerTarget {
  /** initial, healthy, unhealthy, unhealthy.draining, unused, draining, unavailable */
  state: string;
  reason?: string;
}

/** the API load balancer's target groups (ELBv2): how a control-plane node leaves and rejoins traffic */
export interface TargetGroups {
  /** every target of the group with its health; with `targets`, just those (an unregistered one is `unused`) */
  describe(
    targetGroupArn: string,
    targets?: readonly { id: string; port?: number }[],
  ): Promise<TargetHealth[]>;
  deregister(targetGroupArn: string, targets: readonly { id: string; port?: number }[]): Promise<void>;
  register(targetGroupArn: string, targets: readonly { id: string; port?: number }[]): Promise<void>;
}

/** the decision written onto a pending approval */
export interface ApprovalDecision {
  status: Exclude<ApprovalStatus, 'pending'>;
  decidedBy: string;
  decidedAt: string;
  reason?: string;
}

/** approval gates' records (DynamoDB): the task token stays here, messages carry the id */
export interface ApprovalStore {
  /** records a new pending approval (and the execution's pointer to it) */
  put(record: ApprovalRecord): Promise<void>;
  get(approvalId: string): Promise<ApprovalRecord | undefined>;
  /** the execution's latest approval */
  findByExecution(executionId: string): Promise<ApprovalRecord | undefined>;
  /**
   * pending → approved/denied with a conditional write that also checks `expiresAt > now`;
   * `decided: false` with the record as it is now when it was not pending (anymore) or expired
   */
  decide(
    approvalId: string,
    decision: ApprovalDecision,
    now: Date,
  ): Promise<{ decided: true; record: ApprovalRecord } | { decided: false; record?: ApprovalRecord }>;
  /** remembers where the Slack message with the buttons is */
  setMessage(approvalId: string, message: { channel: string; ts: string }): Promise<void>;
}

/**
 * Where people are asked and told (Slack): `ask` posts the Approve / Deny message (buttons
 * carry the approval id only; never the token) and says where it went, or undefined when the
 * cluster has no channel; `decided` updates that message to say who decided.
 */
export interface ApprovalMessenger {
  ask(approval: Omit<ApprovalRecord, 'taskToken'>): Promise<{ channel: string; ts: string } | undefined>;
  decided(approval: Omit<ApprovalRecord, 'taskToken'>): Promise<void>;
}

/** CloudWatch alarms, as blockers: a patch run starts no node while one of them is in ALARM */
export interface AlarmStates {
  /** the names among `names` whose state is ALARM now; a name that does not exist is not in ALARM */
  inAlarm(names: readonly string[]): Promise<string[]>;
}

/** EC2 tags on a cluster's own instances (the patch record); only instances with the cluster's tag */
export interface InstanceTagger {
  /** @throws InvalidInputError when the instance is not one of `cluster`'s */
  tag(cluster: string, instanceId: string, tags: Record<string, string>): Promise<void>;
}

/** one chat message: `text` is the notification fallback, `blocks` the Block Kit layout */
export interface ChatMessage {
  channel: string;
  text: string;
  blocks?: readonly Record<string, unknown>[];
}

/** the Slack Web API calls Caretaker makes (chat.postMessage, chat.update, chat.postEphemeral, usergroups.users.list) */
export interface SlackApi {
  postMessage(message: ChatMessage): Promise<{ channel: string; ts: string }>;
  update(message: ChatMessage & { ts: string }): Promise<void>;
  postEphemeral(message: ChatMessage & { user: string }): Promise<void>;
  /** the user ids in a user group */
  groupMembers(groupId: string): Promise<string[]>;
}

/** the Slack app's secrets (Secrets Manager), read once per cold start; never logged */
export interface SlackSecrets {
  get(): Promise<{ signingSecret: string; botToken: string }>;
}

/**
 * Remembers the first answer to a request that may be delivered again (a Slack retry): the
 * first `remember` stores `value`, every later one returns the stored value.
 */
export interface RequestLedger {
  remember(key: string, value: string, expiresAt: Date): Promise<string>;
}

export interface ExecutionSummary {
  name: string;
  executionArn: string;
  status: string;
  startDate: Date;
  stopDate?: Date;
}

/** a workflow's recent executions, newest first (Step Functions ListExecutions) */
export interface ExecutionHistory {
  recent(stateMachineArn: string, namePrefix: string, limit: number): Promise<ExecutionSummary[]>;
}
/**
 * kops' state store, read only: etcd-manager's own backups (listing and heads, never bodies,
 * tags or writes). Caretaker never deletes or writes there.
 */
export interface StateStoreReader {
  list(prefix: string): Promise<StoredObject[]>;
  head(key: string): Promise<ObjectHead | undefined>;
}

/** a reader for the state store bucket a cluster names (`kops.stateStore`) */
export type StateStores = (bucket: string) => StateStoreReader;
/** one attempt asked for: the route's limits are checked and the attempt counted in one write */
export interface AttemptRequest {
  cluster: string;
  route: string;
  /** what the attempt is about: the alarm and its resource (`<alarm>#<instance or member or cluster>`) */
  resource: string;
  now: Date;
  cooldownMinutes: number;
  maxAttemptsPerDay: number;
}

/** cooldowns and attempts per day of remediation routes (DynamoDB conditional writes in AWS) */
export interface RemediationLedger {
  /** what was recorded for the resource; undefined when nothing was */
  read(
    cluster: string,
    route: string,
    resource: string,
  ): Promise<import('./domain/remediation').AttemptRecord | undefined>;
  /**
   * counts one attempt when the cooldown is over and the day's limit not reached, atomically:
   * of two claims at once only one passes
   */
  claim(request: AttemptRequest): Promise<import('./domain/remediation').AttemptVerdict>;
}

/** CloudWatch alarms, as blockers: a patch run starts no node while one of them is in ALARM */
export interface AlarmStates {
  /** the names among `names` whose state is ALARM now; a name that does not exist is not in ALARM */
  inAlarm(names: readonly string[]): Promise<string[]>;
}

/** EC2 tags on a cluster's own instances (the patch record); only instances with the cluster's tag */
export interface InstanceTagger {
  /** @throws InvalidInputError when the instance is not one of `cluster`'s */
  tag(cluster: string, instanceId: string, tags: Record<string, string>): Promise<void>;
}

/**
 * EC2 and Auto Scaling actions on one of a cluster's own instances (remediate's node-notready
 * runbook); only instances with the cluster's tag. Not wired into a workflow yet.
 */
export interface NodeReplacer {
  /** RebootInstances; @throws InvalidInputError when the instance is not one of `cluster`'s */
  reboot(cluster: string, instanceId: string): Promise<void>;
  /**
   * TerminateInstanceInAutoScalingGroup without decrementing the desired capacity, so the group
   * launches a replacement; `replaced: false` (nothing done) when no group owns the instance
   * @throws InvalidInputError when the instance is not one of `cluster`'s
   */
  replace(cluster: string, instanceId: string): Promise<{ replaced: boolean; group?: string }>;
  /**
   * The Auto Scaling group that owns the instance, as the group sees it now (undefined when no
   * group owns it): what a replacement compares against and waits for
   * @throws InvalidInputError when the instance is not one of `cluster`'s
   */
  groupOf(cluster: string, instanceId: string): Promise<AutoScalingGroupState | undefined>;
  /**
   * The group by name, its instances as it lists them now, and where each of them is reachable
   * (private IP and DNS name, from EC2: only instances that carry the cluster tag)
   */
  describeGroup(cluster: string, group: string): Promise<AutoScalingGroupState>;
}

/** an Auto Scaling group's instances and launch template, as a kops replacement reads them */
export interface AutoScalingGroupState {
  name: string;
  /** `lt-0abc:7`: the launch template id and the version the group launches (`$Latest`/`$Default` resolved); undefined when unreadable */
  launchTemplate?: string;
  instances: {
    instanceId: string;
    /** Pending, InService, Terminating, … (the group's LifecycleState) */
    lifecycleState: string;
    /** Healthy or Unhealthy, as the group judges it */
    healthStatus: string;
    /** `lt-0abc:6`: what this instance was launched from */
    launchTemplate?: string;
    privateIp?: string;
    privateDnsName?: string;
    /** EC2's hostname type: ip-name (ip-10-0-0-1.…) or resource-name (i-0abc.…) */
    hostnameType?: string;
  }[];
}
