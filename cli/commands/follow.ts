import { GetExecutionHistoryCommand, type HistoryEvent, type SFNClient } from '@aws-sdk/client-sfn';
import type { CliDeps, Io } from '../context';
import { bytes, duration, elapsed } from '../format';

/** how often --follow asks for new events */
export const POLL_MS = 2000;

const ENDINGS: Record<string, string> = {
  ExecutionSucceeded: 'SUCCEEDED',
  ExecutionFailed: 'FAILED',
  ExecutionTimedOut: 'TIMED_OUT',
  ExecutionAborted: 'ABORTED',
};

interface ErrorDetails {
  error?: string;
  cause?: string;
}

/** the `...EventDetails` member of an event that carries error and cause, if any */
function errorDetails(event: HistoryEvent): ErrorDetails | undefined {
  for (const [key, value] of Object.entries(event)) {
    if (key.endsWith('EventDetails') && value && typeof value === 'object' && 'error' in value) {
      return value as ErrorDetails;
    }
  }
  return undefined;
}

/** a Lambda's cause is JSON ({errorType, errorMessage, trace}); people want the message */
function readableCause(cause: string | undefined): string | undefined {
  if (!cause) return undefined;
  try {
    const parsed = JSON.parse(cause) as { errorType?: unknown; errorMessage?: unknown };
    if (typeof parsed.errorMessage === 'string') return parsed.errorMessage;
  } catch {
    // not JSON: the cause is the message
  }
  return cause;
}

/** what a finished workflow did, in a few lines; unknown shapes print as JSON */
export function summarizeOutput(output: string | undefined): string[] {
  if (!output) return [];
  let parsed: Record<string, unknown>;
  try {
    parsed = JSON.parse(output) as Record<string, unknown>;
  } catch {
    return [`output: ${output.slice(0, 500)}`];
  }
  const lines: string[] = [];
  const notification = parsed.notification as { subject?: string } | undefined;
  if (notification?.subject) lines.push(notification.subject);
  const lock = parsed.lock as
    { acquired?: boolean; heldBy?: { owner?: string; operation?: string } } | undefined;
  if (lock?.acquired === false) {
    lines.push(
      `skipped: ${lock.heldBy?.operation ?? 'another operation'} holds the lock (${lock.heldBy?.owner ?? '?'})`,
    );
  }
  const upload = parsed.upload as
    { bucket?: string; key?: string; size?: number; revision?: number } | undefined;
  if (upload?.key) {
    lines.push(
      `snapshot: s3://${upload.bucket}/${upload.key} (${bytes(upload.size)}, revision ${upload.revision})`,
    );
  }
  const pruned = parsed.pruned as { kept?: unknown; deleted?: unknown[]; note?: string } | undefined;
  if (pruned) {
    const kept = Array.isArray(pruned.kept) ? pruned.kept.length : pruned.kept;
    lines.push(
      `pruned: ${pruned.deleted?.length ?? 0} deleted, ${kept ?? '?'} kept${pruned.note ? ` (${pruned.note})` : ''}`,
    );
  }
  if (lines.length === 0) {
    const text = JSON.stringify(parsed);
    lines.push(`output: ${text.length > 500 ? `${text.slice(0, 500)}…` : text}`);
  }
  return lines;
}

/**
 * Tails an execution's history until it ends: one line per state entered, exited or failed.
 * Each poll reads the history from the start (paging with nextToken) and prints only events
 * not printed yet, so no page token has to outlive its poll.
 * @returns 0 when the execution succeeded, 1 when it failed, timed out or was aborted
 */
export async function followExecution(
  io: Io,
  deps: CliDeps,
  sfn: SFNClient,
  executionArn: string,
  startedAt: Date,
): Promise<number> {
  const seen = new Map<number, HistoryEvent>();
  let origin = startedAt.getTime();
  const say = (event: HistoryEvent, verb: string, text: string) => {
    const at = event.timestamp ? event.timestamp.getTime() - origin : 0;
    io.stdout.write(`${elapsed(at).padStart(8)}  ${verb.padEnd(8)} ${text}\n`);
  };
  // the state an event belongs to: walk back to the StateEntered that led to it
  const stateOf = (event: HistoryEvent): string => {
    let current: HistoryEvent | undefined = event;
    for (let hops = 0; current && hops < 100; hops++) {
      if (current.stateEnteredEventDetails?.name) return current.stateEnteredEventDetails.name;
      current = current.previousEventId ? seen.get(current.previousEventId) : undefined;
    }
    return '?';
  };

  for (;;) {
    let nextToken: string | undefined;
    do {
      const page = await sfn.send(
        new GetExecutionHistoryCommand({
          executionArn,
          maxResults: 1000,
          nextToken,
          includeExecutionData: true,
        }),
      );
      for (const event of page.events ?? []) {
        if (event.id === undefined || seen.has(event.id)) continue;
        seen.set(event.id, event);
        const type = event.type ?? '';
        const ending = ENDINGS[type];
        if (type === 'ExecutionStarted') {
          if (event.timestamp) origin = event.timestamp.getTime();
          say(event, 'started', executionArn.split(':').pop() ?? executionArn);
        } else if (type.endsWith('StateEntered')) {
          say(event, 'entered', event.stateEnteredEventDetails?.name ?? '?');
        } else if (type.endsWith('StateExited')) {
          say(event, 'exited', event.stateExitedEventDetails?.name ?? '?');
        } else if (ending) {
          return finish(io, event, ending, origin);
        } else if (/(Failed|TimedOut)$/.test(type)) {
          const details = errorDetails(event);
          say(event, 'failed', `${stateOf(event)}: ${details?.error ?? type}`);
        }
      }
      nextToken = page.nextToken;
    } while (nextToken);
    await deps.sleep(POLL_MS);
  }
}

function finish(io: Io, event: HistoryEvent, status: string, origin: number): number {
  const took = event.timestamp ? ` after ${duration(event.timestamp.getTime() - origin)}` : '';
  io.stdout.write(`\n${status}${took}\n`);
  if (status === 'SUCCEEDED') {
    for (const line of summarizeOutput(event.executionSucceededEventDetails?.output)) {
      io.stdout.write(`  ${line}\n`);
    }
    return 0;
  }
  const details = errorDetails(event);
  if (details?.error) io.stdout.write(`  error: ${details.error}\n`);
  const cause = readableCause(details?.cause);
  if (cause) io.stdout.write(`  cause: ${cause}\n`);
  return 1;
}
