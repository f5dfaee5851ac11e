import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { loadCommandDocuments, type CommandDocument } from '../infra/ssm-documents';
import type {
  CommandRequest,
  CommandRunner,
  Instance,
  Inventory,
  Invocation,
  InvocationStatus,
  ScratchFleet,
  ScratchInstance,
  ScratchLaunch,
} from '../functions/shared/ports';
import { ROLE_TAG, SCRATCH_ROLE } from '../functions/shared/domain/config';
import { runScript } from './run-script';

/** a machine of the local fleet: a directory, tags, and the environment its commands run with */
export interface LocalNode {
  instanceId: string;
  name: string;
  tags: Record<string, string>;
  /** extra environment for scripts on this node (its etcd endpoint, the local S3, …) */
  env: Record<string, string>;
  /** false plays a node whose SSM agent is not Online */
  online: boolean;
}

/** the "EC2 Command Invocation Status-change Notification" event the fleet emits */
export interface StatusChangeEvent {
  version: '0';
  id: string;
  'detail-type': 'EC2 Command Invocation Status-change Notification';
  source: 'aws.ssm';
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: {
    'command-id': string;
    'document-name': string;
    'instance-id': string;
    'requested-date-time': string;
    status: InvocationStatus;
  };
}

export interface CommandRecord {
  commandId: string;
  documentName: string;
  instanceId: string;
  parameters: Record<string, string>;
  /** SendCommand's Comment: a retried send-command finds its earlier send by it */
  comment?: string;
  startedAt: number;
  endedAt?: number;
  invocation: Invocation;
}

export interface LocalFleetOptions {
  nodes: LocalNode[];
  region?: string;
  /** where the documents live; default the repository's ssm-documents/ */
  documentsDir?: string;
  /** EventBridge: receives each status-change event (the sandbox wires complete-command here) */
  onStatusChange?: (event: StatusChangeEvent) => Promise<void>;
  /** called before a command's script starts: the place to inject failures */
  beforeCommand?: (record: CommandRecord) => Promise<void> | void;
  /** called when a command's script has ended, before the event is emitted */
  afterCommand?: (record: CommandRecord) => void;
  /** the environment a launched scratch node gets (its S3, its work dir); EC2 would boot an image */
  scratchEnv?: (instanceId: string) => Record<string, string>;
}

/** SSM refuses a SendCommand whose parameters break the document's rules; so does the fleet */
export class InvalidParametersError extends Error {
  override readonly name = 'InvalidParameters';
}

/**
 * Plays EC2 and SSM Run Command on this machine: nodes are entries with tags and instance ids;
 * a command runs the document's real script (ssm-documents/<name>.sh) with the node's
 * environment and the parameters as SSM_<Name>, checked against the document's allowedPattern,
 * and its end is announced with the same status-change event SSM sends.
 */
export class LocalFleet implements Inventory, CommandRunner, ScratchFleet {
  readonly nodes = new Map<string, LocalNode>();
  readonly commands: CommandRecord[] = [];
  /** every scratch launch, and which were terminated: the sandbox report and tests read these */
  readonly launches: (ScratchLaunch & { instanceId: string })[] = [];
  readonly terminated: string[] = [];
  /** false plays scratch instances whose SSM agent never comes Online */
  scratchComesOnline = true;
  private launchCount = 0;
  private readonly documents: Map<string, CommandDocument>;
  private readonly running = new Set<Promise<void>>();

  constructor(private readonly options: LocalFleetOptions) {
    for (const n of options.nodes) this.nodes.set(n.instanceId, n);
    const dir = options.documentsDir ?? join(__dirname, '..', 'ssm-documents');
    this.documents = new Map(loadCommandDocuments(dir).map((d) => [d.name, d]));
  }

  async findManagedInstances(tags: Record<string, string>): Promise<Instance[]> {
    return [...this.nodes.values()]
      .filter((n) => n.online && Object.entries(tags).every(([k, v]) => n.tags[k] === v))
      .map((n) => ({
        instanceId: n.instanceId,
        name: n.name,
        privateIp: '127.0.0.1',
        availabilityZone: 'local-1a',
      }))
      .sort((a, b) => a.instanceId.localeCompare(b.instanceId));
  }

  async send(req: CommandRequest): Promise<{ commandId: string }> {
    const doc = this.documents.get(req.documentName);
    if (!doc) throw new InvalidParametersError(`no document named ${req.documentName} in the local fleet`);
    const node = this.nodes.get(req.instanceId);
    if (!node || !node.online)
      throw new InvalidParametersError(`instance ${req.instanceId} is not a managed, online node`);
    const parameters: Record<string, string> = {};
    for (const [name, p] of Object.entries(doc.parameters)) {
      const value = req.parameters[name] ?? p.default;
      if (value === undefined)
        throw new InvalidParametersError(`${req.documentName}: parameter ${name} is required`);
      if (!new RegExp(p.allowedPattern).test(value)) {
        throw new InvalidParametersError(
          `${req.documentName}: parameter ${name}=${value} fails ${p.allowedPattern}`,
        );
      }
      parameters[name] = value;
    }
    const unknown = Object.keys(req.parameters).filter((k) => !(k in doc.parameters));
    if (unknown.length > 0)
      throw new InvalidParametersError(`${req.documentName}: unknown parameter(s) ${unknown.join(', ')}`);

    const record: CommandRecord = {
      commandId: randomUUID(),
      documentName: req.documentName,
      instanceId: req.instanceId,
      parameters,
      comment: req.comment,
      startedAt: Date.now(),
      invocation: { status: 'InProgress', exitCode: -1, stdout: '', stderr: '' },
    };
    this.commands.push(record);
    const run = this.execute(record, doc, node).finally(() => this.running.delete(run));
    this.running.add(run);
    return { commandId: record.commandId };
  }

  async findSent(
    instanceId: string,
    marker: string,
    since: Date,
  ): Promise<{ commandId: string } | undefined> {
    const r = this.commands.find(
      (c) => c.instanceId === instanceId && c.startedAt >= since.getTime() && c.comment?.includes(marker),
    );
    return r ? { commandId: r.commandId } : undefined;
  }

  async getInvocation(commandId: string, instanceId: string): Promise<Invocation | undefined> {
    const r = this.commands.find((c) => c.commandId === commandId && c.instanceId === instanceId);
    return r ? { ...r.invocation } : undefined;
  }

  async launch(request: ScratchLaunch): Promise<{ instanceId: string }> {
    // RunInstances with the same client token returns the same instance
    const again = this.launches.find((l) => l.clientToken === request.clientToken);
    if (again) return { instanceId: again.instanceId };
    this.launchCount += 1;
    const instanceId = `i-05c7a7c400000${String(this.launchCount).padStart(4, '0')}`;
    this.launches.push({ ...request, instanceId });
    this.nodes.set(instanceId, {
      instanceId,
      name: request.tags.Name ?? 'scratch',
      tags: { ...request.tags },
      env: this.options.scratchEnv?.(instanceId) ?? {},
      online: this.scratchComesOnline,
    });
    return { instanceId };
  }

  async listScratch(): Promise<ScratchInstance[]> {
    return [...this.nodes.values()]
      .filter((n) => n.tags[ROLE_TAG] === SCRATCH_ROLE)
      .map((n) => ({ instanceId: n.instanceId, tags: { ...n.tags }, state: 'running' }));
  }

  async terminate(instanceId: string): Promise<void> {
    if (this.nodes.delete(instanceId)) this.terminated.push(instanceId);
  }

  /** waits for every command still running (the sandbox does this before it stops) */
  async settle(): Promise<void> {
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private async execute(record: CommandRecord, doc: CommandDocument, node: LocalNode): Promise<void> {
    await this.options.beforeCommand?.(record);
    const timeoutSeconds = Number(
      (doc.content as { mainSteps?: { inputs?: { timeoutSeconds?: number } }[] }).mainSteps?.[0]?.inputs
        ?.timeoutSeconds ?? 3600,
    );
    let status: InvocationStatus;
    try {
      const out = await runScript(doc.name, {
        params: record.parameters,
        instanceId: node.instanceId,
        region: this.options.region ?? 'eu-west-1',
        env: node.env,
        timeoutMs: timeoutSeconds * 1000,
      });
      status = out.signal === 'SIGKILL' ? 'TimedOut' : out.exitCode === 0 ? 'Success' : 'Failed';
      // GetCommandInvocation returns the first 24,000 characters of stdout; so does the fleet
      record.invocation = {
        status,
        exitCode: out.exitCode ?? -1,
        stdout: out.stdout.slice(0, 24_000),
        stderr: out.stderr.slice(0, 8_000),
      };
    } catch (e) {
      status = 'Failed';
      record.invocation = { status, exitCode: -1, stdout: '', stderr: (e as Error).message };
    }
    record.endedAt = Date.now();
    this.options.afterCommand?.(record);
    await this.options.onStatusChange?.({
      version: '0',
      id: randomUUID(),
      'detail-type': 'EC2 Command Invocation Status-change Notification',
      source: 'aws.ssm',
      account: '000000000000',
      time: new Date(record.endedAt).toISOString().replace(/\.\d+Z$/, 'Z'),
      region: this.options.region ?? 'eu-west-1',
      resources: [
        `arn:aws:ec2:${this.options.region ?? 'eu-west-1'}:000000000000:instance/${record.instanceId}`,
      ],
      detail: {
        'command-id': record.commandId,
        'document-name': record.documentName,
        'instance-id': record.instanceId,
        'requested-date-time': new Date(record.startedAt).toISOString(),
        status,
      },
    });
  }
}
