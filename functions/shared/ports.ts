/**
 * The small interfaces services are written against. AWS adapters live in adapters/aws; the
 * sandbox and tests provide their own. The domain never imports these implementations.
 */
import type { ClusterConfig } from './domain/config';

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

export interface CommandTokenStore {
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
}

export interface LockStore {
  /** takes the lease when free, expired, or already ours; otherwise returns the holder */
  acquire(lease: Lease): Promise<{ acquired: true } | { acquired: false; heldBy: Lease }>;
  /** releases only our own lease; false when it was not ours (anymore) */
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
    values: Record<string, { value: number; unit: 'Count' | 'Bytes' | 'Seconds' | 'Milliseconds' | 'None' }>,
  ): Promise<void>;
}
