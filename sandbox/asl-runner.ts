/**
 * Runs the real state-machines/*.asl.json in aws-local-stepfunctions with every Task replaced by
 * a local fake. Used by test/asl and reusable by the sandbox and later workflows.
 *
 * - `${Substitution}`s are filled with fake values; a name the workflow registry
 *   (functions/shared/workflows) does not know (or an explicit extra does not cover) is an
 *   error, so a typo in the ASL fails the test.
 * - every Task state must have a local handler: aws-local-stepfunctions would otherwise call
 *   the real AWS Lambda, so a missing one throws before anything runs (nested workflows too).
 * - retry pauses and Wait states are zero; a `.waitForTaskToken` Task's result is the handler's
 *   return value (what complete-command would send with SendTaskSuccess).
 * - Map states run here, not in the library: attempts are counted per item, an ItemReader reads
 *   a JSON array from the local S3, and a Distributed Map honours MaxConcurrency and
 *   ToleratedFailureCount/Percentage, failing with States.ExceedToleratedFailureThreshold.
 * - `arn:aws:states:::states:startExecution.sync` (and `.sync:2`) runs the registry workflow
 *   the StateMachineArn names, as a nested execution with the same fakes.
 * - the run records the states entered, in order, and every input each handler received.
 */
import { randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import {
  WORKFLOWS,
  definitionName,
  stateMachineSubstitution,
  workflowNamed,
} from '../functions/shared/workflows';

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
  // a registry workflow may run another's file (patch-control-plane runs upgrade-control-plane's)
  const w = workflowNamed(name);
  const file = w ? definitionName(w) : name;
  return readFileSync(join(STATE_MACHINES_DIR, `${file}.asl.json`), 'utf8');
}

/** the definition as written (Resources are still `${...}`), for static checks */
export function readWorkflow(name: string): AslMachine {
  return JSON.parse(readWorkflowText(name)) as AslMachine;
}

export interface ContractSubstitutions {
  /** every `${Name}` some workflow may use: its functions, and each workflow's state machine */
  names: Set<string>;
  /** `AcquireLockFunctionArn` → `acquire-lock` */
  functionBySubstitution: Map<string, string>;
  /** `EtcdBackupStateMachineArn` → `etcd-backup`: what a nested execution starts */
  workflowBySubstitution: Map<string, string>;
}

let contractCache: ContractSubstitutions | undefined;

/** the substitutions infra provides, read from the workflow registry (docs/contracts.md shows them) */
export function contractSubstitutions(): ContractSubstitutions {
  return (contractCache ??= readContractSubstitutions());
}

function readContractSubstitutions(): ContractSubstitutions {
  const functionBySubstitution = new Map<string, string>();
  const workflowBySubstitution = new Map<string, string>();
  for (const w of WORKFLOWS) workflowBySubstitution.set(stateMachineSubstitution(w.name), w.name);
  for (const w of WORKFLOWS) {
    for (const [name, target] of Object.entries<string>(w.substitutions)) {
      if (!workflowBySubstitution.has(name)) functionBySubstitution.set(name, target);
    }
  }
  const names = new Set([...functionBySubstitution.keys(), ...workflowBySubstitution.keys()]);
  return { names, functionBySubstitution, workflowBySubstitution };
}

/** the fake ARN of a workflow's state machine; a nested execution finds the workflow by it */
export function fakeStateMachineArn(workflow: string): string {
  return `arn:aws:states:${FAKE_REGION}:${FAKE_ACCOUNT}:stateMachine:caretaker-${workflow}`;
}

/** a recognisable fake value for a substitution: a Lambda ARN for `...FunctionArn` */
export function fakeSubstitutionValue(name: string): string {
  if (name.endsWith('FunctionArn')) {
    const fn = contractSubstitutions().functionBySubstitution.get(name) ?? name;
    return `arn:aws:lambda:${FAKE_REGION}:${FAKE_ACCOUNT}:function:caretaker-${fn}`;
  }
  if (name.endsWith('StateMachineArn')) {
    return fakeStateMachineArn(contractSubstitutions().workflowBySubstitution.get(name) ?? name);
  }
  return `fake-${name}`;
}

/** a substitution the registry does not know, or one left in the text after substituting */
export class UnknownSubstitutionError extends Error {
  override readonly name = 'UnknownSubstitutionError';
}

/**
 * Replaces every `${Name}` with a fake value. Names must be in the registry or in `extra`.
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
      `substitution(s) not in the workflow registry and not given to the harness: ${left}`,
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

export type TaskKind =
  | 'lambda'
  | 'lambda:invoke'
  | 'lambda:invoke.waitForTaskToken'
  | 'states:startExecution.sync'
  | 'integration';

/** what a Task state calls, read from the definition as written (before substitution) */
export interface TaskTarget {
  state: string;
  kind: TaskKind;
  /**
   * how tests name it: the function (`acquire-lock`) the registry maps the substitution to, the
   * nested workflow (`etcd-backup`), else the substitution name, else the integration
   * (`aws-sdk:ec2:terminateInstances`)
   */
  target: string;
  /** `.sync:2`: the nested execution's Output is JSON, not a string */
  outputAsJson?: boolean;
}

/** the function a Lambda substitution stands for, or the substitution itself */
function targetOf(resourceOrFunction: string): string | undefined {
  const m = /^\$\{([A-Za-z0-9_]+)\}$/.exec(resourceOrFunction);
  if (!m) return undefined;
  return contractSubstitutions().functionBySubstitution.get(m[1]!) ?? m[1]!;
}

const START_EXECUTION = /^states:startExecution\.sync(:2)?$/;

export function taskTargets(machine: AslMachine): TaskTarget[] {
  return allStates(machine)
    .filter(({ state }) => state.Type === 'Task')
    .map(({ name, state }): TaskTarget => {
      const resource = state.Resource ?? '';
      if (resource.startsWith(INTEGRATION_PREFIX)) {
        const integration = resource.slice(INTEGRATION_PREFIX.length);
        const fn = state.Parameters?.['FunctionName'];
        if (integration === 'lambda:invoke' || integration === 'lambda:invoke.waitForTaskToken') {
          const target = typeof fn === 'string' ? targetOf(fn) : undefined;
          return { state: name, kind: integration, target: target ?? String(fn) };
        }
        const sync = START_EXECUTION.exec(integration);
        const arn = state.Parameters?.['StateMachineArn'];
        const child = /^\$\{([A-Za-z0-9_]+)\}$/.exec(typeof arn === 'string' ? arn : '')?.[1];
        const workflow = child && contractSubstitutions().workflowBySubstitution.get(child);
        if (sync && workflow) {
          return {
            state: name,
            kind: 'states:startExecution.sync',
            target: workflow,
            outputAsJson: !!sync[1],
          };
        }
        return { state: name, kind: 'integration', target: integration };
      }
      return { state: name, kind: 'lambda', target: targetOf(resource) ?? resource };
    });
}

/** what a fake is told about the call it is answering */
export interface CallInfo {
  /** the Task state's name */
  state: string;
  /** 1 for the first call of this state (in this Map item), 2 for its first retry … */
  attempt: number;
  /** the Map item this call is for (innermost Map), undefined outside a Map */
  item?: number;
  /** the item of every enclosing Map, outermost first */
  items: number[];
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
  /** the Map item, as in CallInfo */
  item?: number;
  input: Json;
  /** the error the fake threw, if it threw */
  error?: { name: string; message: string };
}

/** where an ItemReader's objects come from: the local S3 (see `s3Objects`) or a plain map */
export interface ObjectReader {
  getObject(bucket: string, key: string): Promise<string>;
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
  /**
   * Wait states that really wait, this many ms, by state name (all others are zero): the sandbox
   * waits for real things (a load balancer's deregistration delay, a restarting API server)
   */
  waitMs?: Record<string, number>;
  /** `$$.Execution.Name`; the id is derived from it */
  executionName?: string;
  /** every event of the run as it happens (the sandbox prints progress from these) */
  onEvent?: (event: RunEvent) => void;
  /** the S3 an ItemReader (`arn:aws:states:::s3:getObject`) reads; required when one runs */
  objects?: ObjectReader;
}

/** an event of aws-local-stepfunctions' eventLogs, as the runner passes it on */
export type RunEvent = {
  type: string;
  timestamp: number;
  state?: { name: string; type: string; input?: unknown; output?: unknown };
  /** the Map item (innermost Map) the event belongs to */
  index?: number;
  /** the nested workflow the event belongs to, for a startExecution.sync child */
  workflow?: string;
  Error?: unknown;
  Cause?: unknown;
};

export type ExecutionStatus = 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT';

export interface RunResult {
  workflow: string;
  status: ExecutionStatus;
  output?: Json;
  error?: { Error: string; Cause: string };
  executionId: string;
  executionName: string;
  /** top-level states entered, in order */
  states: string[];
  /** states entered inside Map iterations, with the item index */
  iterationStates: { index: number; state: string }[];
  /** every handler call, in the order the handlers were called */
  calls: RecordedCall[];
  /** the nested executions this run started (startExecution.sync), in order */
  children: RunResult[];
  /** the calls to one target, e.g. `callsTo('release-lock')` */
  callsTo(target: string): RecordedCall[];
  /** the inputs of the calls to one target */
  inputsTo(target: string): Json[];
}

/** a Task state has no local handler; running it would call real AWS */
export class MissingFakeError extends Error {
  override readonly name = 'MissingFakeError';
}

/** an error a state raises with the name Step Functions gives it (States.*, service errors) */
class StatesError extends Error {
  constructor(
    override readonly name: string,
    message: string,
  ) {
    super(message);
  }
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

/** the tasks and states of a machine and of every registry workflow it nests, once each */
function withNested(
  name: string,
  machine: AslMachine,
  substitutions: Record<string, string>,
  seen = new Set<string>(),
) {
  seen.add(name);
  const tasks: (TaskTarget & { workflow: string })[] = taskTargets(machine).map((t) => ({
    ...t,
    workflow: name,
  }));
  const states = allStates(machine).map((s) => s.name);
  for (const t of tasks.filter((task) => task.kind === 'states:startExecution.sync')) {
    if (seen.has(t.target)) continue;
    const child = withNested(t.target, loadWorkflow(t.target, substitutions).asWritten, substitutions, seen);
    tasks.push(...child.tasks);
    states.push(...child.states);
  }
  return { tasks, states };
}

/** the Map fields the library would read; the runner reads them instead */
const MAP_ONLY_FIELDS = [
  'Iterator',
  'ItemProcessor',
  'ItemsPath',
  'ItemSelector',
  'Parameters',
  'ItemReader',
  'ItemBatcher',
  'ResultWriter',
  'MaxConcurrency',
  'MaxConcurrencyPath',
  'ToleratedFailureCount',
  'ToleratedFailureCountPath',
  'ToleratedFailurePercentage',
  'ToleratedFailurePercentagePath',
  'Label',
];

/** evaluates a payload template or a path with the library itself, through a Pass state */
async function evaluate(
  field: { Parameters: Json } | { InputPath: string },
  input: Json,
  context: Record<string, unknown>,
): Promise<Json> {
  const pass = { Type: 'Pass', ...field, End: true };
  const machine = new StateMachine(
    { StartAt: 'Evaluate', States: { Evaluate: pass } } as unknown as StateMachineDefinition,
    {
      validationOptions: { noValidate: true },
    },
  );
  return (await machine.run(input, { context }).result) as Json;
}

/** one execution (the workflow, a Map item, a nested workflow) and what it shares with its parent */
interface Scope {
  workflow: string;
  options: RunOptions;
  calls: RecordedCall[];
  children: RunResult[];
  attempts: Map<string, number>;
  /** the item of every enclosing Map */
  items: number[];
  context: Record<string, unknown>;
  emit: (event: RunEvent) => void;
}

/**
 * Runs one machine (the workflow, or a Map's item processor) in aws-local-stepfunctions: its
 * Map states become Tasks the runner answers, its Tasks are the fakes.
 */
function startMachine(machine: AslMachine, input: Json, scope: Scope, tasks: Map<string, TaskTarget>) {
  const patched = JSON.parse(JSON.stringify(machine)) as AslMachine;
  if (scope.options.timeoutMs) setTimeouts(patched, scope.options.timeoutMs);
  const handlers: Record<string, (input: Json) => Promise<Json>> = {};
  const retryIntervalOverrides: Record<string, number> = {};
  const waitTimeOverrides: Record<string, number> = {};

  const visit = (states: Record<string, AslState>) => {
    for (const [stateName, state] of Object.entries(states)) {
      if (state.Retry) retryIntervalOverrides[stateName] = 0;
      if (state.Type === 'Wait') waitTimeOverrides[stateName] = scope.options.waitMs?.[stateName] ?? 0;
      if (state.Type === 'Map') {
        const original = JSON.parse(JSON.stringify(state)) as AslState;
        handlers[stateName] = (mapInput) => runMap(stateName, original, mapInput, scope, tasks);
        state.Type = 'Task';
        state.Resource = 'arn:aws:states:::caretaker-local:map';
        for (const field of MAP_ONLY_FIELDS) delete state[field];
        // a Map has no timeout of its own; as a Task the library would give it 60 s (and a timer
        // past 2^31 ms fires at once): about 23 days, longer than any execution runs
        state.TimeoutSeconds = 2_000_000;
      } else if (state.Type === 'Task') {
        const task = tasks.get(stateName);
        if (task) handlers[stateName] = taskHandler(task, scope);
        movePathTimeout(state);
      } else if (state.Type === 'Parallel') {
        // the library runs branches with this run's handlers: theirs go in the same table
        for (const branch of state.Branches ?? []) visit(branch.States);
      }
    }
  };
  visit(patched.States);
  const run = new StateMachine(patched as unknown as StateMachineDefinition, {
    validationOptions: { noValidate: true },
  }).run(input, {
    overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides, waitTimeOverrides },
    context: scope.context,
  });
  const forwarding = (async () => {
    for await (const event of run.eventLogs) {
      const e = event as unknown as RunEvent;
      scope.emit(scope.items.length > 0 ? { ...e, index: scope.items.at(-1) } : e);
    }
  })();
  return { run, forwarding };
}

/** where movePathTimeout puts the timeout in the Task's Parameters; the task handler drops it */
const TIMEOUT_PARAMETER = 'caretakerLocalTimeoutSeconds';

/**
 * Step Functions reads TimeoutSecondsPath from the state's input; aws-local-stepfunctions 3
 * reads it from the input after Parameters, where `$.approval.timeoutSeconds` is gone. The
 * value travels through Parameters under a name of the runner's, and the handler drops it.
 */
function movePathTimeout(state: AslState): void {
  const path = state['TimeoutSecondsPath'];
  if (typeof path !== 'string' || state.TimeoutSeconds !== undefined || !state.Parameters) return;
  state.Parameters = { ...state.Parameters, [`${TIMEOUT_PARAMETER}.$`]: path };
  state['TimeoutSecondsPath'] = `$.${TIMEOUT_PARAMETER}`;
}

function taskHandler(task: TaskTarget, scope: Scope) {
  const { byState = {}, fakes = {} } = scope.options;
  return async (input: Json): Promise<Json> => {
    const raw = withoutLocalTimeout(input);
    const key = `${scope.items.join('/')}|${task.state}`;
    const attempt = (scope.attempts.get(key) ?? 0) + 1;
    scope.attempts.set(key, attempt);
    if (task.kind === 'states:startExecution.sync') {
      return startNested(task, raw as JsonObject, scope);
    }
    const fake = byState[task.state] ?? fakes[task.target]!;
    // a lambda:invoke Task sends Parameters.Payload to the function
    const viaInvoke = task.kind === 'lambda:invoke' || task.kind === 'lambda:invoke.waitForTaskToken';
    const payload = viaInvoke ? ((raw as JsonObject)['Payload'] ?? null) : raw;
    const item = scope.items.at(-1);
    const call: RecordedCall = {
      state: task.state,
      target: task.target,
      attempt,
      item,
      input: toJson(payload),
    };
    scope.calls.push(call);
    try {
      const result = await fake(toJson(payload), {
        state: task.state,
        attempt,
        item,
        items: [...scope.items],
      });
      // lambda:invoke (without a token) returns the invocation, not just the payload
      return task.kind === 'lambda:invoke' ? { Payload: result, StatusCode: 200 } : result;
    } catch (e) {
      call.error = describeError(e);
      throw e;
    }
  };
}

function withoutLocalTimeout(input: Json): Json {
  if (input === null || typeof input !== 'object' || Array.isArray(input) || !(TIMEOUT_PARAMETER in input)) {
    return input;
  }
  const rest: JsonObject = { ...input };
  delete rest[TIMEOUT_PARAMETER];
  return rest;
}

/**
 * `states:startExecution.sync[:2]`: runs the registry workflow the ARN names with the same
 * fakes and answers as DescribeExecution does. `.sync` gives Output as a JSON string, `.sync:2`
 * as JSON; a child that fails fails this Task with States.TaskFailed, its description as Cause.
 */
async function startNested(task: TaskTarget, parameters: JsonObject, scope: Scope): Promise<Json> {
  const arn = String(parameters['StateMachineArn']);
  const workflow = /:stateMachine:caretaker-([a-z0-9-]+)$/.exec(arn)?.[1];
  if (!workflow || !workflowNamed(workflow)) {
    throw new StatesError(
      'StepFunctions.StateMachineDoesNotExistException',
      `no registry workflow has the ARN ${arn}`,
    );
  }
  const raw = parameters['Input'] ?? {};
  const input = (typeof raw === 'string' ? JSON.parse(raw) : raw) as Json;
  const name = typeof parameters['Name'] === 'string' ? parameters['Name'] : randomUUID();
  const startDate = Date.now();
  const child = await run(
    workflow,
    readWorkflowText(workflow),
    input,
    {
      ...scope.options,
      executionName: name,
      onEvent: (e: RunEvent) => scope.emit({ ...e, workflow: e.workflow ?? workflow }),
    },
    true,
  );
  scope.children.push(child);
  const description: JsonObject = {
    ExecutionArn: child.executionId,
    StateMachineArn: arn,
    Name: name,
    Status: child.status,
    StartDate: startDate,
    StopDate: Date.now(),
    Input: JSON.stringify(input),
    InputDetails: { Included: true },
  };
  if (child.status !== 'SUCCEEDED') {
    const failed = {
      ...description,
      Error: child.error?.Error ?? 'States.Runtime',
      Cause: child.error?.Cause ?? '',
    };
    throw new StatesError('States.TaskFailed', JSON.stringify(failed));
  }
  return {
    ...description,
    Output: task.outputAsJson ? (child.output ?? null) : JSON.stringify(child.output ?? null),
    OutputDetails: { Included: true },
  };
}

/** a number field or its `...Path` twin, read from the Map's input */
async function mapNumber(state: AslState, field: string, input: Json, context: Record<string, unknown>) {
  const path = state[`${field}Path`];
  if (typeof path === 'string') return Number(await evaluate({ InputPath: path }, input, context));
  const value = state[field];
  return typeof value === 'number' ? value : undefined;
}

/** the Map's items: read by its ItemReader from S3, or selected by ItemsPath from its input */
async function mapItems(state: AslState, input: Json, scope: Scope): Promise<Json[]> {
  const reader = state['ItemReader'] as
    { Resource?: string; Parameters?: Json; ReaderConfig?: JsonObject } | undefined;
  let items: Json;
  if (reader) {
    if (
      reader.Resource !== 'arn:aws:states:::s3:getObject' ||
      (reader.ReaderConfig?.['InputType'] ?? 'JSON') !== 'JSON'
    ) {
      throw new StatesError(
        'States.ItemReaderFailed',
        'the local runner reads JSON files only (s3:getObject, InputType JSON)',
      );
    }
    if (!scope.options.objects) {
      throw new MissingFakeError('an ItemReader reads S3: give the runner `objects` (the local S3)');
    }
    const where = (await evaluate(
      { Parameters: reader.Parameters ?? {} },
      input,
      scope.context,
    )) as JsonObject;
    let text: string;
    try {
      text = await scope.options.objects.getObject(String(where['Bucket']), String(where['Key']));
    } catch (e) {
      throw new StatesError(
        'States.ItemReaderFailed',
        `s3://${String(where['Bucket'])}/${String(where['Key'])}: ${(e as Error).message}`,
      );
    }
    try {
      items = JSON.parse(text) as Json;
    } catch {
      throw new StatesError(
        'States.ItemReaderFailed',
        `s3://${String(where['Bucket'])}/${String(where['Key'])} is not JSON`,
      );
    }
  } else {
    const path = typeof state['ItemsPath'] === 'string' ? state['ItemsPath'] : '$';
    items = await evaluate({ InputPath: path }, input, scope.context);
  }
  if (!Array.isArray(items)) {
    throw new StatesError(
      reader ? 'States.ItemReaderFailed' : 'States.Runtime',
      "the Map state's items must be a JSON array",
    );
  }
  return items;
}

/**
 * A Map state, as Step Functions runs it: each item through the item processor, at most
 * MaxConcurrency at once (0 or absent: all). Inline, the first failed item fails the Map with
 * its error. Distributed (ProcessorConfig.Mode DISTRIBUTED), failed items are tolerated up to
 * ToleratedFailureCount and ToleratedFailurePercentage (failed / all items × 100; without
 * either, none); past either the Map fails with States.ExceedToleratedFailureThreshold. A
 * tolerated failed item's place in the output holds its `{Error, Cause}`.
 */
async function runMap(
  stateName: string,
  state: AslState,
  input: Json,
  scope: Scope,
  tasks: Map<string, TaskTarget>,
): Promise<Json> {
  const processor = (state.ItemProcessor ?? state.Iterator)!;
  const processorConfig = (processor as { ProcessorConfig?: { Mode?: string } }).ProcessorConfig;
  const items = await mapItems(state, input, scope);
  const toleratedCount = await mapNumber(state, 'ToleratedFailureCount', input, scope.context);
  const toleratedPercentage = await mapNumber(state, 'ToleratedFailurePercentage', input, scope.context);
  const distributed =
    processorConfig?.Mode === 'DISTRIBUTED' ||
    toleratedCount !== undefined ||
    toleratedPercentage !== undefined;
  const maxConcurrency =
    (await mapNumber(state, 'MaxConcurrency', input, scope.context)) || items.length || 1;
  const selector = state.ItemSelector ?? state.Parameters;
  const itemMachine: AslMachine = { StartAt: processor.StartAt, States: processor.States };

  const exceeded = (failed: number) => {
    if (!distributed) return failed > 0;
    if (toleratedCount === undefined && toleratedPercentage === undefined) return failed > 0;
    return (
      (toleratedCount !== undefined && failed > toleratedCount) ||
      (toleratedPercentage !== undefined && (failed / items.length) * 100 > toleratedPercentage)
    );
  };

  const results: Json[] = new Array<Json>(items.length).fill(null);
  const running = new Set<{ abort: () => void }>();
  let failed = 0;
  let failure: Error | undefined;
  let next = 0;

  const runItem = async (index: number): Promise<void> => {
    const value = items[index]!;
    const context = { ...scope.context, Map: { Item: { Index: index, Value: value } } };
    const itemInput = selector ? await evaluate({ Parameters: selector as Json }, input, context) : value;
    const itemScope: Scope = { ...scope, items: [...scope.items, index] };
    const { run, forwarding } = startMachine(itemMachine, itemInput, itemScope, tasks);
    running.add(run);
    try {
      results[index] = (await run.result) as Json;
    } catch (e) {
      const cause = e instanceof Error && e.cause instanceof Error ? e.cause : (e as Error);
      failed += 1;
      results[index] = { Error: cause.name, Cause: cause.message };
      if (!failure && exceeded(failed)) {
        failure = distributed
          ? new StatesError(
              'States.ExceedToleratedFailureThreshold',
              `${stateName}: ${failed} of ${items.length} items failed, more than the tolerated ` +
                [
                  toleratedCount !== undefined ? `${toleratedCount} items` : undefined,
                  toleratedPercentage !== undefined ? `${toleratedPercentage} %` : undefined,
                ]
                  .filter(Boolean)
                  .join(' or ') || `${stateName}: an item failed and none is tolerated`,
            )
          : cause;
        for (const r of running) if (r !== run) r.abort();
      }
    } finally {
      running.delete(run);
      await forwarding.catch(() => undefined);
    }
  };

  const worker = async () => {
    while (next < items.length && !failure) await runItem(next++);
  };
  await Promise.all(Array.from({ length: Math.min(maxConcurrency, Math.max(items.length, 1)) }, worker));
  if (failure) throw failure;
  return results;
}

/**
 * Runs a workflow once, locally, with fakes for every Task (and for every Task of the
 * workflows it nests).
 * @throws MissingFakeError when a Task has no fake, UnknownSubstitutionError for an unknown `${...}`.
 */
export async function runWorkflow(name: string, input: Json, options: RunOptions = {}): Promise<RunResult> {
  return run(name, readWorkflowText(name), input, options, false);
}

/**
 * Runs an ASL document that is not a file of state-machines/ (a test's own definition) exactly
 * as runWorkflow runs a workflow; the workflows it nests come from the registry.
 * @throws MissingFakeError, UnknownSubstitutionError
 */
export async function runDefinition(
  name: string,
  text: string,
  input: Json,
  options: RunOptions = {},
): Promise<RunResult> {
  return run(name, text, input, options, false);
}

async function run(
  name: string,
  text: string,
  input: Json,
  options: RunOptions,
  nested: boolean,
): Promise<RunResult> {
  const substitutions = options.substitutions ?? {};
  const asWritten = JSON.parse(text) as AslMachine;
  const definition = JSON.parse(substitute(text, substitutions)) as AslMachine;
  const tasks = taskTargets(asWritten);
  const fakes = options.fakes ?? {};
  const byState = options.byState ?? {};

  const everything = withNested(name, asWritten, substitutions);
  const everyTask = everything.tasks;
  const stateNames = new Set(everything.states);
  for (const s of nested ? [] : [...Object.keys(byState), ...Object.keys(options.timeoutMs ?? {})]) {
    if (!stateNames.has(s)) throw new MissingFakeError(`${name}: no state named "${s}" (stale test?)`);
  }
  const missing = everyTask.filter(
    (t) => t.kind !== 'states:startExecution.sync' && !byState[t.state] && !fakes[t.target],
  );
  if (missing.length > 0) {
    throw new MissingFakeError(
      `${name}: Task state(s) without a local fake would call real AWS: ` +
        missing
          .map((t) => `"${t.state}" (${t.target}${t.workflow === name ? '' : ` in ${t.workflow}`})`)
          .join(', '),
    );
  }

  const readers = allStates(asWritten).filter(({ state }) => state['ItemReader'] !== undefined);
  if (readers.length > 0 && !options.objects) {
    throw new MissingFakeError(
      `${name}: an ItemReader reads S3: give the runner \`objects\` (the local S3) for ${readers.map((r) => `"${r.name}"`).join(', ')}`,
    );
  }

  // validate the definition as written (a shrunk timeout is not valid ASL; the runner's copy is)
  new StateMachine(definition as unknown as StateMachineDefinition);

  const executionName = options.executionName ?? 'test-execution';
  const executionId = `arn:aws:states:${FAKE_REGION}:${FAKE_ACCOUNT}:execution:caretaker-${name}:${executionName}`;
  const states: string[] = [];
  const iterationStates: { index: number; state: string }[] = [];
  let failure: { Error: string; Cause: string } | undefined;
  let timedOut = false;
  const scope: Scope = {
    workflow: name,
    options,
    calls: [],
    children: [],
    attempts: new Map(),
    items: [],
    context: {
      Execution: { Id: executionId, Name: executionName },
      StateMachine: { Id: fakeStateMachineArn(name), Name: `caretaker-${name}` },
      Task: { Token: FAKE_TASK_TOKEN },
    },
    emit: (event) => {
      options.onEvent?.(event);
      if (event.workflow) return;
      if (event.type === 'StateEntered' && event.state) {
        if (event.index === undefined) states.push(event.state.name);
        else iterationStates.push({ index: event.index, state: event.state.name });
      } else if (event.type === 'ExecutionFailed' && event.index === undefined) {
        failure = { Error: String(event.Error), Cause: typeof event.Cause === 'string' ? event.Cause : '' };
      } else if (event.type === 'ExecutionTimeout' && event.index === undefined) {
        timedOut = true;
      }
    },
  };
  const byName = new Map(tasks.map((t) => [t.state, t]));
  const started = startMachine(definition, input, scope, byName);

  let status: ExecutionStatus;
  let output: Json | undefined;
  try {
    output = (await started.run.result) as Json;
    status = 'SUCCEEDED';
  } catch (e) {
    status = timedOut || (e instanceof Error && e.name === 'ExecutionTimeoutError') ? 'TIMED_OUT' : 'FAILED';
    if (!failure && e instanceof Error) {
      const cause = e.cause instanceof Error ? e.cause : e;
      failure = { Error: cause.name, Cause: cause.message };
    }
  }
  await started.forwarding;

  const callsTo = (target: string) => scope.calls.filter((c) => c.target === target);
  return {
    workflow: name,
    status,
    output,
    error: status === 'SUCCEEDED' ? undefined : failure,
    executionId,
    executionName,
    states,
    iterationStates,
    calls: scope.calls,
    children: scope.children,
    callsTo,
    inputsTo: (target) => callsTo(target).map((c) => c.input),
  };
}
