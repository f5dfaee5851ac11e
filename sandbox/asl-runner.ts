/**
 * Runs the real state-machines/*.asl.json in aws-local-stepfunctions with every Task replaced by
 * a local fake. Used by test/asl and reusable by the sandbox and later workflows.
 *
 * - `${Substitution}`s are filled with fake values; a name that docs/contracts.md does not list
 *   (or an explicit extra does not cover) is an error, so a typo in the ASL fails the test.
 * - every Task state must have a local handler: aws-local-stepfunctions would otherwise call
 *   the real AWS Lambda, so a missing one throws before anything runs.
 * - retry pauses and Wait states are zero; a `.waitForTaskToken` Task's result is the handler's
 *   return value (what complete-command would send with SendTaskSuccess).
 * - the run records the states entered, in order, and every input each handler received.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';

// aws-local-stepfunctions 3 uses Promise.withResolvers (Node 22+); tests still run on Node 20
{
  const P = Promise as unknown as { withResolvers?: unknown };
  if (typeof P.withResolvers !== 'function') {
    P.withResolvers = function withResolvers<T>() {
      let resolve!: (value: T | PromiseLike<T>) => void;
      let reject!: (reason?: unknown) => void;
      const promise = new Promise<T>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      return { promise, resolve, reject };
    };
  }
}

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };

/** a state as written in the ASL file; only the fields the harness and the checks read are typed */
export interface AslState {
  Type: string;
  Comment?: string;
  Resource?: string;
  Parameters?: JsonObject;
  TimeoutSeconds?: number;
  HeartbeatSeconds?: number;
  Retry?: { ErrorEquals: string[]; [key: string]: Json | undefined }[];
  Catch?: { ErrorEquals: string[]; Next: string; [key: string]: Json | undefined }[];
  ItemProcessor?: AslMachine;
  Iterator?: AslMachine;
  Branches?: AslMachine[];
  [key: string]: unknown;
}

export interface AslMachine {
  Comment?: string;
  StartAt: string;
  States: Record<string, AslState>;
  TimeoutSeconds?: number;
  [key: string]: unknown;
}

export const REPO_ROOT = join(__dirname, '..');
export const STATE_MACHINES_DIR = join(REPO_ROOT, 'state-machines');
const CONTRACTS_MD = join(REPO_ROOT, 'docs', 'contracts.md');

/** fake account values, so an assertion can recognise them */
export const FAKE_REGION = 'eu-west-1';
export const FAKE_ACCOUNT = '123456789012';
export const FAKE_TASK_TOKEN = 'fake-task-token';

const SUBSTITUTION = /\$\{([A-Za-z0-9_]+)\}/g;
const INTEGRATION_PREFIX = 'arn:aws:states:::';

/** every workflow file, by name: `etcd-backup` for state-machines/etcd-backup.asl.json */
export function listWorkflows(): string[] {
  return readdirSync(STATE_MACHINES_DIR)
    .filter((f) => f.endsWith('.asl.json'))
    .map((f) => f.slice(0, -'.asl.json'.length))
    .sort();
}

/** the file's text, `${...}` left as written */
export function readWorkflowText(name: string): string {
  return readFileSync(join(STATE_MACHINES_DIR, `${name}.asl.json`), 'utf8');
}

/** the definition as written (Resources are still `${...}`), for static checks */
export function readWorkflow(name: string): AslMachine {
  return JSON.parse(readWorkflowText(name)) as AslMachine;
}

export interface ContractSubstitutions {
  /** every `${Name}` docs/contracts.md mentions */
  names: Set<string>;
  /** `AcquireLockFunctionArn` → `acquire-lock`, from the Lambda table */
  functionBySubstitution: Map<string, string>;
}

/** the substitutions the contract promises infra will provide, read from docs/contracts.md */
let contractCache: ContractSubstitutions | undefined;

export function contractSubstitutions(): ContractSubstitutions {
  return (contractCache ??= readContractSubstitutions());
}

function readContractSubstitutions(): ContractSubstitutions {
  const text = readFileSync(CONTRACTS_MD, 'utf8');
  const names = new Set([...text.matchAll(SUBSTITUTION)].map((m) => m[1]!));
  const functionBySubstitution = new Map<string, string>();
  for (const line of text.split('\n')) {
    const row = /^\|\s*([a-z0-9-]+)\s*\|\s*`\$\{([A-Za-z0-9_]+)\}`/.exec(line);
    if (row) functionBySubstitution.set(row[2]!, row[1]!);
  }
  return { names, functionBySubstitution };
}

/** a recognisable fake value for a substitution: a Lambda ARN for `...FunctionArn` */
export function fakeSubstitutionValue(name: string): string {
  if (name.endsWith('FunctionArn')) {
    const fn = contractSubstitutions().functionBySubstitution.get(name) ?? name;
    return `arn:aws:lambda:${FAKE_REGION}:${FAKE_ACCOUNT}:function:caretaker-${fn}`;
  }
  if (name.endsWith('StateMachineArn')) {
    return `arn:aws:states:${FAKE_REGION}:${FAKE_ACCOUNT}:stateMachine:caretaker-${name}`;
  }
  return `fake-${name}`;
}

/** a substitution the contract does not list, or one left in the text after substituting */
export class UnknownSubstitutionError extends Error {
  override readonly name = 'UnknownSubstitutionError';
}

/**
 * Replaces every `${Name}` with a fake value. Names must be in docs/contracts.md or in `extra`.
 * @throws UnknownSubstitutionError naming every substitution it could not fill.
 */
export function substitute(text: string, extra: Record<string, string> = {}): string {
  const { names } = contractSubstitutions();
  const unknown = new Set<string>();
  const out = text.replace(SUBSTITUTION, (whole, name: string) => {
    if (name in extra) return extra[name]!;
    if (names.has(name)) return fakeSubstitutionValue(name);
    unknown.add(name);
    return whole;
  });
  if (unknown.size > 0 || /\$\{/.test(out)) {
    const left = unknown.size > 0 ? [...unknown].join(', ') : (/\$\{[^}]*\}?/.exec(out)?.[0] ?? '${');
    throw new UnknownSubstitutionError(
      `substitution(s) not in docs/contracts.md and not given to the harness: ${left}`,
    );
  }
  return out;
}

/** one state anywhere in the machine, including inside Map item processors and Parallel branches */
export interface VisitedState {
  name: string;
  state: AslState;
  /** names of the enclosing Map/Parallel states, outermost first */
  parents: string[];
}

/** walks every state, nested ones included */
export function allStates(machine: AslMachine, parents: string[] = []): VisitedState[] {
  const out: VisitedState[] = [];
  for (const [name, state] of Object.entries(machine.States)) {
    out.push({ name, state, parents });
    const nested = [state.ItemProcessor, state.Iterator, ...(state.Branches ?? [])].filter(
      (m): m is AslMachine => m !== undefined,
    );
    for (const m of nested) out.push(...allStates(m, [...parents, name]));
  }
  return out;
}

export type TaskKind = 'lambda' | 'lambda:invoke' | 'lambda:invoke.waitForTaskToken' | 'integration';

/** what a Task state calls, read from the definition as written (before substitution) */
export interface TaskTarget {
  state: string;
  kind: TaskKind;
  /**
   * how tests name it: the function (`acquire-lock`) when contracts.md maps the substitution,
   * else the substitution name, else the integration (`aws-sdk:ec2:terminateInstances`)
   */
  target: string;
}

/** the function a Lambda substitution stands for, or the substitution itself */
function targetOf(resourceOrFunction: string): string | undefined {
  const m = /^\$\{([A-Za-z0-9_]+)\}$/.exec(resourceOrFunction);
  if (!m) return undefined;
  return contractSubstitutions().functionBySubstitution.get(m[1]!) ?? m[1]!;
}

export function taskTargets(machine: AslMachine): TaskTarget[] {
  return allStates(machine)
    .filter(({ state }) => state.Type === 'Task')
    .map(({ name, state }) => {
      const resource = state.Resource ?? '';
      if (resource.startsWith(INTEGRATION_PREFIX)) {
        const integration = resource.slice(INTEGRATION_PREFIX.length);
        const fn = state.Parameters?.['FunctionName'];
        if (integration === 'lambda:invoke' || integration === 'lambda:invoke.waitForTaskToken') {
          const target = typeof fn === 'string' ? targetOf(fn) : undefined;
          return { state: name, kind: integration, target: target ?? String(fn) };
        }
        return { state: name, kind: 'integration' as const, target: integration };
      }
      return { state: name, kind: 'lambda' as const, target: targetOf(resource) ?? resource };
    });
}

/** what a fake is told about the call it is answering */
export interface CallInfo {
  /** the Task state's name */
  state: string;
  /** 1 for the first call of this state in this run, 2 for its first retry (or next Map item) … */
  attempt: number;
}

/**
 * A local stand-in for one function. For a `.waitForTaskToken` Task it receives the Lambda's
 * payload and returns what SendTaskSuccess would carry; throwing an error whose `name` is set
 * plays SendTaskFailure (or a Lambda error) with that name.
 */
export type Fake = (input: Json, call: CallInfo) => Json | Promise<Json>;

export interface RecordedCall {
  state: string;
  target: string;
  attempt: number;
  input: Json;
  /** the error the fake threw, if it threw */
  error?: { name: string; message: string };
}

export interface RunOptions {
  /** fakes by target: the function name (`acquire-lock`), substitution or integration */
  fakes?: Record<string, Fake>;
  /** fakes by Task state name; win over `fakes` */
  byState?: Record<string, Fake>;
  /** extra `${Name}` values, for substitutions a future contract adds */
  substitutions?: Record<string, string>;
  /**
   * shrink a Task's TimeoutSeconds to this many milliseconds, so States.Timeout can be
   * exercised without waiting; the fake then just never answers
   */
  timeoutMs?: Record<string, number>;
  /** `$$.Execution.Name`; the id is derived from it */
  executionName?: string;
  /** every event of the run as it happens (the sandbox prints progress from these) */
  onEvent?: (event: RunEvent) => void;
}

/** an event of aws-local-stepfunctions' eventLogs, as the runner passes it on */
export type RunEvent = {
  type: string;
  timestamp: number;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  index?: number;
  Error?: unknown;
  Cause?: unknown;
};

export type ExecutionStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';

export interface RunResult {
  status: ExecutionStatus;
  output?: Json;
  error?: { Error: string; Cause: string };
  executionId: string;
  /** top-level states entered, in order */
  states: string[];
  /** states entered inside Map iterations, with the item index */
  iterationStates: { index: number; state: string }[];
  /** every handler call, in the order the handlers were called */
  calls: RecordedCall[];
  /** the calls to one target, e.g. `callsTo('release-lock')` */
  callsTo(target: string): RecordedCall[];
  /** the inputs of the calls to one target */
  inputsTo(target: string): Json[];
}

/** a Task state has no local handler; running it would call real AWS */
export class MissingFakeError extends Error {
  override readonly name = 'MissingFakeError';
}

/**
 * Loads a workflow with fake substitutions and checks that every Task has a fake.
 * @throws UnknownSubstitutionError, MissingFakeError
 */
export function loadWorkflow(name: string, substitutions: Record<string, string> = {}) {
  const text = readWorkflowText(name);
  const asWritten = JSON.parse(text) as AslMachine;
  const definition = JSON.parse(substitute(text, substitutions)) as AslMachine;
  return { asWritten, definition, tasks: taskTargets(asWritten) };
}

function describeError(e: unknown): { name: string; message: string } {
  if (e instanceof Error) return { name: e.name, message: e.message };
  return { name: 'Error', message: String(e) };
}

/**
 * a deep copy through JSON. Not structuredClone: under Jest it returns objects from another
 * realm, and aws-local-stepfunctions then treats payload templates as empty objects.
 */
function toJson(value: unknown): Json {
  return value === undefined ? null : (JSON.parse(JSON.stringify(value)) as Json);
}

function setTimeouts(machine: AslMachine, timeoutMs: Record<string, number>): void {
  for (const { name, state } of allStates(machine)) {
    if (name in timeoutMs) state.TimeoutSeconds = timeoutMs[name]! / 1000;
  }
}

/**
 * Runs a workflow once, locally, with fakes for every Task.
 * @throws MissingFakeError when a Task has no fake, UnknownSubstitutionError for an unknown `${...}`.
 */
export async function runWorkflow(name: string, input: Json, options: RunOptions = {}): Promise<RunResult> {
  const { definition, tasks } = loadWorkflow(name, options.substitutions);
  const fakes = options.fakes ?? {};
  const byState = options.byState ?? {};

  const stateNames = new Set(allStates(definition).map((s) => s.name));
  for (const s of [...Object.keys(byState), ...Object.keys(options.timeoutMs ?? {})]) {
    if (!stateNames.has(s)) throw new MissingFakeError(`${name}: no state named "${s}" (stale test?)`);
  }
  const missing = tasks.filter((t) => !byState[t.state] && !fakes[t.target]);
  if (missing.length > 0) {
    throw new MissingFakeError(
      `${name}: Task state(s) without a local fake would call real AWS: ` +
        missing.map((t) => `"${t.state}" (${t.target})`).join(', '),
    );
  }

  // validate the definition as written; a shrunk timeout is not valid ASL, so that copy is not
  const validated = new StateMachine(definition as unknown as StateMachineDefinition);
  let machine = validated;
  if (options.timeoutMs && Object.keys(options.timeoutMs).length > 0) {
    const patched = JSON.parse(JSON.stringify(definition)) as AslMachine;
    setTimeouts(patched, options.timeoutMs);
    machine = new StateMachine(patched as unknown as StateMachineDefinition, {
      validationOptions: { noValidate: true },
    });
  }

  const calls: RecordedCall[] = [];
  const attempts = new Map<string, number>();
  const taskResourceLocalHandlers: Record<string, (input: Json) => Promise<Json>> = {};
  for (const task of tasks) {
    const fake = byState[task.state] ?? fakes[task.target]!;
    taskResourceLocalHandlers[task.state] = async (raw: Json) => {
      const attempt = (attempts.get(task.state) ?? 0) + 1;
      attempts.set(task.state, attempt);
      // a lambda:invoke Task sends Parameters.Payload to the function
      const viaInvoke = task.kind === 'lambda:invoke' || task.kind === 'lambda:invoke.waitForTaskToken';
      const payload = viaInvoke ? ((raw as JsonObject)['Payload'] ?? null) : raw;
      const call: RecordedCall = { state: task.state, target: task.target, attempt, input: toJson(payload) };
      calls.push(call);
      try {
        const result = await fake(toJson(payload), { state: task.state, attempt });
        // lambda:invoke (without a token) returns the invocation, not just the payload
        return task.kind === 'lambda:invoke' ? { Payload: result, StatusCode: 200 } : result;
      } catch (e) {
        call.error = describeError(e);
        throw e;
      }
    };
  }

  const retryIntervalOverrides: Record<string, number> = {};
  const waitTimeOverrides: Record<string, number> = {};
  for (const { name: stateName, state } of allStates(definition)) {
    if (state.Retry) retryIntervalOverrides[stateName] = 0;
    if (state.Type === 'Wait') waitTimeOverrides[stateName] = 0;
  }

  const executionName = options.executionName ?? 'test-execution';
  const executionId = `arn:aws:states:${FAKE_REGION}:${FAKE_ACCOUNT}:execution:caretaker-${name}:${executionName}`;
  const execution = machine.run(input, {
    overrides: { taskResourceLocalHandlers, retryIntervalOverrides, waitTimeOverrides },
    context: {
      Execution: { Id: executionId, Name: executionName },
      StateMachine: {
        Id: `arn:aws:states:${FAKE_REGION}:${FAKE_ACCOUNT}:stateMachine:caretaker-${name}`,
        Name: `caretaker-${name}`,
      },
      Task: { Token: FAKE_TASK_TOKEN },
    },
  });

  const states: string[] = [];
  const iterationStates: { index: number; state: string }[] = [];
  let failure: { Error: string; Cause: string } | undefined;
  let timedOut = false;
  const collecting = (async () => {
    for await (const event of execution.eventLogs) {
      options.onEvent?.(event as unknown as RunEvent);
      if (event.type === 'StateEntered') {
        if (event.index === undefined) states.push(event.state.name);
        else iterationStates.push({ index: event.index, state: event.state.name });
      } else if (event.type === 'ExecutionFailed') {
        failure = { Error: String(event.Error), Cause: typeof event.Cause === 'string' ? event.Cause : '' };
      } else if (event.type === 'ExecutionTimeout') {
        timedOut = true;
      }
    }
  })();

  let status: ExecutionStatus;
  let output: Json | undefined;
  try {
    output = (await execution.result) as Json;
    status = 'SUCCEEDED';
  } catch (e) {
    status = timedOut || (e instanceof Error && e.name === 'ExecutionTimeoutError') ? 'TIMED_OUT' : 'FAILED';
    if (!failure && e instanceof Error) {
      const cause = e.cause instanceof Error ? e.cause : e;
      failure = { Error: cause.name, Cause: cause.message };
    }
  }
  await collecting;

  const callsTo = (target: string) => calls.filter((c) => c.target === target);
  return {
    status,
    output,
    error: status === 'SUCCEEDED' ? undefined : failure,
    executionId,
    states,
    iterationStates,
    calls,
    callsTo,
    inputsTo: (target) => callsTo(target).map((c) => c.input),
  };
}
