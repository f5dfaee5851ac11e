import { parseCommandResult, tail } from '../domain/command-result';
import { findCommand } from '../domain/commands';
import { describeIssues } from '../domain/validation';
import { CommandFailedError, CommandTimedOutError, type CaretakerError } from '../errors';
import type {
  Clock,
  CommandRunner,
  CommandTokenStore,
  Invocation,
  PendingCommand,
  TaskCallbacks,
} from '../ports';

export interface CompletionDeps {
  runner: CommandRunner;
  tokens: CommandTokenStore;
  callbacks: TaskCallbacks;
  clock: Clock;
}

export type Completion = 'succeeded' | 'failed' | 'timed-out' | 'still-running' | 'not-ours';

const TERMINAL = new Set(['Success', 'Failed', 'TimedOut', 'Cancelled']);
/** how much of stderr travels as the failure's cause: enough to see what broke */
const STDERR_TAIL = 4000;

function describeFailure(p: PendingCommand, inv: Invocation): string {
  return [
    `${p.command} on ${p.instanceId} (command ${p.commandId}) ended ${inv.status} with exit code ${inv.exitCode}.`,
    inv.stderr ? `stderr (tail):\n${tail(inv.stderr, STDERR_TAIL)}` : 'stderr was empty.',
  ].join('\n');
}

/** the waiting task fails with the error's name and message, as if the step had thrown it */
const failWith = (deps: CompletionDeps, taskToken: string, error: CaretakerError) =>
  deps.callbacks.fail(taskToken, error.name, error.message);

/**
 * the CARETAKER_RESULT object, checked against the command's result schema in the catalog
 * @throws CommandFailedError when there is none or it does not have the command's shape
 */
function resultOf(p: PendingCommand, stdout: string): Record<string, unknown> {
  const result = parseCommandResult(stdout);
  const parsed = findCommand(p.command)?.result.safeParse({ ...result, instanceId: p.instanceId });
  if (parsed && !parsed.success) {
    throw new CommandFailedError(
      `the ${p.command} result does not have the command's shape: ${describeIssues(parsed.error.issues).join('; ')}`,
    );
  }
  return result;
}

/** turns one finished invocation into the waiting task's success or failure */
async function report(p: PendingCommand, inv: Invocation, deps: CompletionDeps): Promise<Completion> {
  if (inv.status === 'TimedOut') {
    await failWith(deps, p.taskToken, new CommandTimedOutError(describeFailure(p, inv)));
    return 'timed-out';
  }
  if (inv.status !== 'Success') {
    await failWith(deps, p.taskToken, new CommandFailedError(describeFailure(p, inv)));
    return 'failed';
  }
  let result: Record<string, unknown>;
  try {
    result = resultOf(p, inv.stdout);
  } catch (e) {
    if (!(e instanceof CommandFailedError)) throw e;
    await failWith(deps, p.taskToken, new CommandFailedError(`${e.message}\n${describeFailure(p, inv)}`));
    return 'failed';
  }
  await deps.callbacks.succeed(p.taskToken, { ...result, instanceId: p.instanceId, commandId: p.commandId });
  return 'succeeded';
}

/**
 * Completes the task waiting on (commandId, instanceId) if the invocation has finished. The
 * token is claimed by deleting it first, so the event and the reconciler never both report.
 */
export async function completeInvocation(
  commandId: string,
  instanceId: string,
  deps: CompletionDeps,
): Promise<Completion> {
  const inv = await deps.runner.getInvocation(commandId, instanceId);
  if (!inv || !TERMINAL.has(inv.status)) return 'still-running';
  const pending = await deps.tokens.take(commandId, instanceId);
  if (!pending) return 'not-ours';
  return report(pending, inv, deps);
}

/**
 * The backstop for lost events: completes every parked token whose invocation finished, and
 * fails as timed out every one past its deadline.
 */
export async function reconcile(deps: CompletionDeps) {
  const pending = await deps.tokens.list();
  const now = deps.clock.now().getTime();
  const counts = { checked: pending.length, completed: 0, timedOut: 0 };
  for (const p of pending) {
    const outcome = await completeInvocation(p.commandId, p.instanceId, deps);
    if (outcome === 'succeeded' || outcome === 'failed') counts.completed += 1;
    else if (outcome === 'timed-out') counts.timedOut += 1;
    else if (outcome === 'still-running' && Date.parse(p.deadline) < now) {
      const claimed = await deps.tokens.take(p.commandId, p.instanceId);
      if (!claimed) continue;
      await failWith(
        deps,
        claimed.taskToken,
        new CommandTimedOutError(
          `${p.command} on ${p.instanceId} (command ${p.commandId}) had not finished by its deadline ${p.deadline}`,
        ),
      );
      counts.timedOut += 1;
    }
  }
  return counts;
}
