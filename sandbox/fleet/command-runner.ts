/**
 * SSM Run Command over the fleet's nodes, with the SSM agent's lifecycle: a command waits
 * Pending while its node is offline and is delivered when the node is back (or times out
 * undelivered); a script that exits 194 makes the agent reboot the node and run the script
 * again after the reboot, in the same invocation; exit 3010 reboots after the script, and the
 * invocation succeeds once the node is back (where a host can report 3010: see EXIT_REBOOT_AFTER).
 */
import { randomUUID } from 'node:crypto';
import { loadCommandDocuments, scriptStep, type CommandDocument } from '../../infra/ssm-documents';
import type {
  CommandRequest,
  CommandRunner,
  Invocation,
  InvocationStatus,
} from '../../functions/shared/ports';
import { runScript, SSM_DOCUMENTS_DIR, type RunScriptOptions, type ScriptRun } from '../run-script';
import type { FleetNode, NodeSet } from './nodes';

/** the SSM agent's exit code for "reboot, then run the script again after the reboot" */
export const EXIT_REBOOT_AND_RERUN = 194;
/**
 * the SSM agent's exit code for "the step succeeded; reboot after it". A process's exit status
 * is 8 bits on Linux, so a node script's `exit 3010` reaches the agent as 194 (3010 mod 256)
 * and is run again after the reboot: only a host that reports full exit codes (Windows) gets
 * here. Linux scripts ask with 194 and are idempotent, as the SSM documentation's examples are.
 */
export const EXIT_REBOOT_AFTER = 3010;
/**
 * the fleet's own guard against a script that exits 194 on every boot (SSM would reboot the
 * node until the command's execution timeout); not an SSM limit
 */
export const DEFAULT_MAX_REBOOTS_PER_COMMAND = 10;

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

/** one run of the document's script within an invocation (more than one after exit 194) */
export interface ScriptRunRecord {
  /** the node's boot id while the script ran */
  bootId: string;
  startedAt: number;
  endedAt: number;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
}

export interface CommandRecord {
  commandId: string;
  documentName: string;
  instanceId: string;
  parameters: Record<string, string>;
  /** SendCommand's Comment: a retried send-command finds its earlier send by it */
  comment?: string;
  /** when SendCommand was called */
  startedAt: number;
  /** when the agent received it (absent while Pending, and when it was never delivered) */
  deliveredAt?: number;
  endedAt?: number;
  /** GetCommandInvocation's StatusDetails where it says more than the status (DeliveryTimedOut) */
  statusDetails?: string;
  /** every run of the script; the invocation's output is the last run's */
  runs: ScriptRunRecord[];
  invocation: Invocation;
}

export interface LocalCommandRunnerOptions {
  region?: string;
  /** where the documents (YAML) and their scripts (.sh) live; default the repository's ssm-documents/ */
  documentsDir?: string;
  /** EventBridge: receives each status-change event (the sandbox wires complete-command here) */
  onStatusChange?: (event: StatusChangeEvent) => Promise<void>;
  /** called once per invocation when the agent received it, before its script first starts: the place to inject failures */
  beforeCommand?: (record: CommandRecord) => Promise<void> | void;
  /** called when an invocation has ended (delivered or not), before the event is emitted */
  afterCommand?: (record: CommandRecord) => void;
  /** default {@link DEFAULT_MAX_REBOOTS_PER_COMMAND} */
  maxRebootsPerCommand?: number;
  /** what runs a document's script on a node, default {@link runScript} (`sh` on this machine) */
  runScript?: (name: string, options: RunScriptOptions) => Promise<ScriptRun>;
}

/** SSM refuses a SendCommand whose parameters break the document's rules; so does the fleet */
export class InvalidParametersError extends Error {
  override readonly name = 'InvalidParameters';
}

/** SSM refuses a SendCommand to an instance it does not manage (unknown, terminated, never registered) */
export class InvalidInstanceIdError extends Error {
  override readonly name = 'InvalidInstanceId';
}

/**
 * Runs the document's real script (`<documentsDir>/<name>.sh`) with the node's environment and
 * the parameters as SSM_<Name>, checked against the document's allowedPattern, and announces
 * each invocation's end with the status-change event SSM sends.
 *
 * Delivery, as SSM does it: SendCommand to a node SSM manages but cannot reach (ConnectionLost,
 * e.g. rebooting) is accepted; the invocation stays Pending and is delivered when the node is
 * Online again. Not delivered within the request's `deliveryTimeoutSeconds` (SendCommand's
 * TimeoutSeconds), it ends TimedOut with StatusDetails DeliveryTimedOut and its script never runs.
 */
export class LocalCommandRunner implements CommandRunner {
  readonly commands: CommandRecord[] = [];
  private readonly documents: Map<string, CommandDocument>;
  private readonly scriptsDir: string;
  private readonly running = new Set<Promise<void>>();
  /** aborts every delivery still waiting: the fleet is stopping */
  private stopping = new AbortController();

  constructor(
    private readonly nodes: NodeSet,
    private readonly options: LocalCommandRunnerOptions = {},
  ) {
    this.scriptsDir = options.documentsDir ?? SSM_DOCUMENTS_DIR;
    this.documents = new Map(loadCommandDocuments(this.scriptsDir).map((d) => [d.name, d]));
  }

  private get region(): string {
    return this.options.region ?? 'eu-west-1';
  }

  async send(req: CommandRequest): Promise<{ commandId: string }> {
    const doc = this.documents.get(req.documentName);
    if (!doc) throw new InvalidParametersError(`no document named ${req.documentName} in the local fleet`);
    const node = this.nodes.get(req.instanceId);
    if (!node || node.state !== 'running' || !node.registered)
      throw new InvalidInstanceIdError(`instance ${req.instanceId} is not a running, SSM-managed node`);
    const parameters: Record<string, string> = {};
    const nodeDefaults = node.parameterDefaults;
    for (const [name, p] of Object.entries(doc.parameters)) {
      const value = req.parameters[name] ?? nodeDefaults[name] ?? p.default;
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
      runs: [],
      // an Online node's agent takes it at once; an offline one leaves it Pending
      invocation: { status: node.online ? 'InProgress' : 'Pending', exitCode: -1, stdout: '', stderr: '' },
    };
    this.commands.push(record);
    const run = this.execute(record, doc, node, req.deliveryTimeoutSeconds).finally(() =>
      this.running.delete(run),
    );
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

  /**
   * waits for every invocation still under way (the sandbox does this before it stops);
   * invocations still waiting for an offline node are cancelled undelivered, with no event
   */
  async settle(): Promise<void> {
    this.stopping.abort();
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
    this.stopping = new AbortController();
  }

  private async execute(
    record: CommandRecord,
    doc: CommandDocument,
    node: FleetNode,
    deliveryTimeoutSeconds: number,
  ): Promise<void> {
    const deliveryMs = deliveryTimeoutSeconds * 1000 - (Date.now() - record.startedAt);
    if (!(await this.nodes.waitUntilOnline(node, deliveryMs, this.stopping.signal))) {
      if (this.stopping.signal.aborted) {
        record.invocation = {
          status: 'Cancelled',
          exitCode: -1,
          stdout: '',
          stderr: 'the local fleet stopped',
        };
        record.endedAt = Date.now();
        return;
      }
      const terminated = node.state === 'terminated';
      record.statusDetails = terminated ? 'Undeliverable' : 'DeliveryTimedOut';
      record.invocation = {
        status: terminated ? 'Failed' : 'TimedOut',
        exitCode: -1,
        stdout: '',
        stderr: terminated
          ? `${node.instanceId} was terminated before the command was delivered`
          : `${node.instanceId} did not come Online within the delivery timeout (${deliveryTimeoutSeconds} s)`,
      };
      return this.finish(record);
    }
    record.deliveredAt = Date.now();
    record.invocation = { ...record.invocation, status: 'InProgress' };
    try {
      await this.options.beforeCommand?.(record);
      record.invocation = await this.runUntilDone(record, doc, node);
    } catch (e) {
      record.invocation = { status: 'Failed', exitCode: -1, stdout: '', stderr: (e as Error).message };
    }
    return this.finish(record);
  }

  /** the SSM agent's loop: run the script; on 194 reboot and run it again; on 3010 reboot and succeed */
  private async runUntilDone(
    record: CommandRecord,
    doc: CommandDocument,
    node: FleetNode,
  ): Promise<Invocation> {
    // the fleet runs shell steps only: AWS's own documents (AWS-RunPatchBaseline) exist only in AWS
    const steps = (doc.content as { mainSteps: { action?: string; inputs?: { documentPath?: string } }[] })
      .mainSteps;
    const nested = steps.filter((step) => step.action !== 'aws:runShellScript');
    if (nested.length > 0) {
      return {
        status: 'Failed',
        exitCode: -1,
        stdout: '',
        stderr: `the local fleet runs only aws:runShellScript steps; ${doc.name} also runs ${nested
          .map((step) => `${step.action} ${step.inputs?.documentPath ?? ''}`.trim())
          .join(', ')}, which exists only in AWS`,
      };
    }
    const timeoutSeconds = Number(scriptStep(doc).inputs?.timeoutSeconds ?? 3600);
    const maxReboots = this.options.maxRebootsPerCommand ?? DEFAULT_MAX_REBOOTS_PER_COMMAND;
    for (;;) {
      const startedAt = Date.now();
      const bootId = node.bootId;
      const out = await (this.options.runScript ?? runScript)(doc.name, {
        params: record.parameters,
        instanceId: node.instanceId,
        region: this.region,
        env: node.env,
        timeoutMs: timeoutSeconds * 1000,
        scriptsDir: this.scriptsDir,
      });
      record.runs.push({
        bootId,
        startedAt,
        endedAt: Date.now(),
        exitCode: out.exitCode,
        signal: out.signal,
      });
      // GetCommandInvocation returns the first 24,000 characters of stdout; so does the fleet
      const output = { stdout: out.stdout.slice(0, 24_000), stderr: out.stderr.slice(0, 8_000) };
      const exitCode = out.exitCode ?? -1;
      if (out.signal === 'SIGKILL') return { status: 'TimedOut', exitCode, ...output };
      if (exitCode !== EXIT_REBOOT_AND_RERUN && exitCode !== EXIT_REBOOT_AFTER) {
        return { status: exitCode === 0 ? 'Success' : 'Failed', exitCode, ...output };
      }
      if (record.runs.length > maxReboots) {
        return {
          status: 'Failed',
          exitCode,
          stdout: output.stdout,
          stderr: `${output.stderr}\nthe local fleet stopped after ${maxReboots} reboots for one command`,
        };
      }
      // the agent tells SSM before it reboots: the invocation stays InProgress across the reboot
      record.invocation = { status: 'InProgress', exitCode: -1, ...output };
      const reason = exitCode === EXIT_REBOOT_AND_RERUN ? 'exit-194' : 'exit-3010';
      await this.nodes.reboot(node.instanceId, reason, record.commandId);
      // a node that does not come back: SSM keeps the invocation InProgress until its timeout
      if (!node.online && node.state !== 'terminated') {
        const left = timeoutSeconds * 1000 - (Date.now() - (record.deliveredAt ?? record.startedAt));
        if (!(await this.nodes.waitUntilOnline(node, left, this.stopping.signal))) {
          const stopped = this.stopping.signal.aborted;
          return {
            status: stopped ? 'Cancelled' : 'TimedOut',
            exitCode: -1,
            stdout: output.stdout,
            stderr: `${output.stderr}\n${node.instanceId} did not come back from its reboot${stopped ? ' before the local fleet stopped' : ` within ${timeoutSeconds} s`}`,
          };
        }
      }
      if (node.state === 'terminated') {
        return {
          status: 'Failed',
          exitCode: -1,
          stdout: output.stdout,
          stderr: 'terminated while rebooting',
        };
      }
      if (exitCode === EXIT_REBOOT_AFTER) return { status: 'Success', exitCode, ...output };
    }
  }

  private async finish(record: CommandRecord): Promise<void> {
    record.endedAt = Date.now();
    this.options.afterCommand?.(record);
    await this.options.onStatusChange?.({
      version: '0',
      id: randomUUID(),
      'detail-type': 'EC2 Command Invocation Status-change Notification',
      source: 'aws.ssm',
      account: '000000000000',
      time: new Date(record.endedAt).toISOString().replace(/\.\d+Z$/, 'Z'),
      region: this.region,
      resources: [`arn:aws:ec2:${this.region}:000000000000:instance/${record.instanceId}`],
      detail: {
        'command-id': record.commandId,
        'document-name': record.documentName,
        'instance-id': record.instanceId,
        'requested-date-time': new Date(record.startedAt).toISOString(),
        status: record.invocation.status,
      },
    });
  }
}
