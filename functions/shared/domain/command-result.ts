import { CommandFailedError } from '../errors';

/** the marker a node script prints before its one-line JSON result, as its last stdout line */
export const RESULT_MARKER = 'CARETAKER_RESULT ';

/**
 * Reads the `CARETAKER_RESULT {json}` line from a script's stdout (the last one wins).
 * @throws CommandFailedError when there is no such line or its JSON does not parse.
 */
export function parseCommandResult(stdout: string): Record<string, unknown> {
  const line = stdout
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l.startsWith(RESULT_MARKER))
    .pop();
  if (line === undefined) {
    throw new CommandFailedError(
      `the command printed no ${RESULT_MARKER.trim()} line; stdout tail: ${tail(stdout, 500)}`,
    );
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(line.slice(RESULT_MARKER.length));
  } catch (e) {
    throw new CommandFailedError(
      `the ${RESULT_MARKER.trim()} line is not JSON (${(e as Error).message}): ${tail(line, 300)}`,
    );
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
    throw new CommandFailedError(
      `the ${RESULT_MARKER.trim()} line must hold a JSON object: ${tail(line, 300)}`,
    );
  }
  return parsed as Record<string, unknown>;
}

/** the last `max` characters, on a line boundary where possible: the part that says what broke */
export function tail(text: string, max = 2000): string {
  const t = text.trimEnd();
  if (t.length <= max) return t;
  const cut = t.slice(-max);
  const nl = cut.indexOf('\n');
  return '…' + (nl >= 0 && nl < max / 2 ? cut.slice(nl + 1) : cut);
}
