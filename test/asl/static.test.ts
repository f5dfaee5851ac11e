/**
 * Rules every state-machines/*.asl.json keeps (ARCHITECTURE.md "Errors the state machines
 * catch", STYLE.md "Names"). Each check collects the offending states, so a failure names them.
 */
import aslValidator from 'asl-validator';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { ERROR_NAMES } from '../../functions/shared/errors';
import {
  allStates,
  contractSubstitutions,
  listWorkflows,
  readWorkflow,
  readWorkflowText,
  substitute,
  taskTargets,
} from '../../sandbox/asl-runner';

const LAMBDA_SERVICE_ERRORS = [
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.TooManyRequestsException',
];

/** the predefined error names of the States language and Step Functions */
const STATES_ERRORS = new Set([
  'States.ALL',
  'States.BranchFailed',
  'States.DataLimitExceeded',
  'States.ExceedToleratedFailureThreshold',
  'States.HeartbeatTimeout',
  'States.Http.Socket',
  'States.IntrinsicFailure',
  'States.ItemReaderFailed',
  'States.NoChoiceMatched',
  'States.ParameterPathFailure',
  'States.Permissions',
  'States.QueryEvaluationError',
  'States.ResultPathMatchFailure',
  'States.ResultWriterFailed',
  'States.Runtime',
  'States.TaskFailed',
  'States.Timeout',
]);

/** wildcards: catching them is fine (to release a lock), retrying them is not */
const WILDCARDS = new Set(['States.ALL', 'States.TaskFailed']);

const isKnownError = (name: string) =>
  STATES_ERRORS.has(name) || name.startsWith('Lambda.') || (ERROR_NAMES as readonly string[]).includes(name);

/** the ItemReader sandbox/asl-runner.ts runs: s3:getObject of a JSON array */
function readsJsonFromS3(reader: unknown): boolean {
  const r = reader as { Resource?: string; ReaderConfig?: { InputType?: string } };
  return r.Resource === 'arn:aws:states:::s3:getObject' && (r.ReaderConfig?.InputType ?? 'JSON') === 'JSON';
}

const workflows = listWorkflows();

it('finds the workflows to check', () => {
  expect(workflows).toContain('etcd-backup');
});

describe.each(workflows)('%s.asl.json', (name) => {
  const text = readWorkflowText(name);
  const machine = readWorkflow(name);
  const states = allStates(machine);
  const tasks = taskTargets(machine);
  const stateByName = new Map(states.map((s) => [s.name, s.state]));
  // a nested execution (states:startExecution.sync) is no Lambda: no function, no Lambda errors
  const lambdaTasks = tasks.filter(
    (t) => t.kind !== 'integration' && t.kind !== 'states:startExecution.sync',
  );

  it('passes asl-validator', () => {
    // asl-validator adds fields to what it is given: give it its own copy
    const result = aslValidator(JSON.parse(substitute(text)), { checkArn: true, checkPaths: true });

    expect(result.errorsText('\n')).toBe('');
    expect(result.isValid).toBe(true);
  });

  it('is accepted by aws-local-stepfunctions', () => {
    const definition = JSON.parse(substitute(text)) as StateMachineDefinition;

    expect(() => new StateMachine(definition)).not.toThrow();
  });

  it('uses only substitutions the workflow registry lists', () => {
    expect(() => substitute(text)).not.toThrow();
  });

  it('names every Resource as a ${Substitution} or a Step Functions integration, with no hard-coded ARN', () => {
    const offenders = states
      .filter(({ state }) => state.Type === 'Task')
      .filter(({ state }) => {
        const r = state.Resource ?? '';
        return !/^\$\{[A-Za-z0-9_]+\}$/.test(r) && !r.startsWith('arn:aws:states:::');
      })
      .map((s) => s.name);
    const invokedByArn = states
      .filter(({ state }) => String(state.Resource).startsWith('arn:aws:states:::lambda:'))
      .filter(({ state }) => !/^\$\{[A-Za-z0-9_]+\}$/.test(String(state.Parameters?.['FunctionName'])))
      .map((s) => s.name);

    expect(offenders).toEqual([]);
    expect(invokedByArn).toEqual([]);
    expect(text).not.toMatch(/arn:aws:(?!states:::)/);
    expect(text).not.toMatch(/\b\d{12}\b/);
  });

  it('maps every Lambda substitution to a function in the workflow registry', () => {
    const { functionBySubstitution } = contractSubstitutions();
    const unmapped = lambdaTasks.filter((t) => ![...functionBySubstitution.values()].includes(t.target));

    expect(unmapped.map((t) => `${t.state} (${t.target})`)).toEqual([]);
  });

  it('retries the Lambda service errors on every Lambda Task', () => {
    const missing = lambdaTasks
      .map((t) => {
        const retried = new Set((stateByName.get(t.state)!.Retry ?? []).flatMap((r) => r.ErrorEquals));
        const absent = LAMBDA_SERVICE_ERRORS.filter((e) => !retried.has(e));
        return absent.length > 0 ? `${t.state}: ${absent.join(', ')}` : undefined;
      })
      .filter((m) => m !== undefined);

    expect(missing).toEqual([]);
  });

  it('retries with backoff, never immediately', () => {
    const flat = states.flatMap(({ name: stateName, state }) =>
      (state.Retry ?? [])
        .filter((r) => r['BackoffRate'] === undefined || Number(r['BackoffRate']) <= 1)
        .map((r) => `${stateName}: ${r.ErrorEquals.join(', ')}`),
    );

    expect(flat).toEqual([]);
  });

  it('uses only the fields Step Functions defines in Retry and Catch (asl-validator lets others through)', () => {
    const retryFields = new Set([
      'ErrorEquals',
      'IntervalSeconds',
      'MaxAttempts',
      'BackoffRate',
      'MaxDelaySeconds',
      'JitterStrategy',
    ]);
    const catchFields = new Set(['ErrorEquals', 'Next', 'ResultPath']);
    const extra = states.flatMap(({ name: stateName, state }) =>
      [
        ...(state.Retry ?? []).flatMap((r) => Object.keys(r).filter((k) => !retryFields.has(k))),
        ...(state.Catch ?? []).flatMap((c) => Object.keys(c).filter((k) => !catchFields.has(k))),
      ].map((k) => `${stateName}: ${k}`),
    );

    expect(extra).toEqual([]);
  });

  it('never retries States.ALL or States.TaskFailed', () => {
    const blind = states
      .filter(({ state }) => (state.Retry ?? []).some((r) => r.ErrorEquals.some((e) => WILDCARDS.has(e))))
      .map((s) => s.name);

    expect(blind).toEqual([]);
  });

  it('names only errors from functions/shared/errors.ts, States.* or Lambda.* in ErrorEquals', () => {
    const unknown = states.flatMap(({ name: stateName, state }) =>
      [...(state.Retry ?? []), ...(state.Catch ?? [])]
        .flatMap((r) => r.ErrorEquals)
        .filter((e) => !isKnownError(e))
        .map((e) => `${stateName}: ${e}`),
    );

    expect(unknown).toEqual([]);
  });

  it('gives every state a Comment saying why', () => {
    const silent = states
      .filter(({ state }) => typeof state.Comment !== 'string' || state.Comment.trim().length < 10)
      .map((s) => s.name);

    expect(machine.Comment).toEqual(expect.any(String));
    expect(silent).toEqual([]);
  });

  it('asks a question in every Choice state name', () => {
    const notQuestions = states
      .filter(({ name: stateName, state }) => state.Type === 'Choice' && !stateName.endsWith('?'))
      .map((s) => s.name);

    expect(notQuestions).toEqual([]);
  });

  it('sets TimeoutSeconds on every waitForTaskToken Task and hands it the task token', () => {
    const waiting = states.filter(({ state }) => String(state.Resource).endsWith('.waitForTaskToken'));
    // an approval's wait is the cluster's setting: TimeoutSecondsPath
    const noTimeout = waiting
      .filter(
        ({ state }) => !(Number(state.TimeoutSeconds) > 0) && typeof state['TimeoutSecondsPath'] !== 'string',
      )
      .map((s) => s.name);
    const noToken = waiting
      .filter(({ state }) => {
        const payload = state.Parameters?.['Payload'];
        return !(payload && typeof payload === 'object' && !Array.isArray(payload))
          ? true
          : payload['taskToken.$'] !== '$$.Task.Token';
      })
      .map((s) => s.name);

    expect(noTimeout).toEqual([]);
    expect(noToken).toEqual([]);
  });

  it('bounds the whole execution with a top-level TimeoutSeconds', () => {
    expect(machine.TimeoutSeconds).toEqual(expect.any(Number));
  });

  it('uses only what the local runner runs: JSONPath, no ResultWriter, an ItemReader only over a JSON file in S3', () => {
    const unsupported = states
      .filter(
        ({ state }) =>
          (state['QueryLanguage'] !== undefined && state['QueryLanguage'] !== 'JSONPath') ||
          state['ResultWriter'] !== undefined ||
          (state['ItemReader'] !== undefined && !readsJsonFromS3(state['ItemReader'])),
      )
      .map((s) => s.name);

    expect(machine['QueryLanguage'] ?? 'JSONPath').toBe('JSONPath');
    expect(unsupported).toEqual([]);
  });
});
