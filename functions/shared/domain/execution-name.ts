import { createHash } from 'node:crypto';

/** Step Functions' limit on execution names */
const MAX_NAME = 80;

/**
 * Deterministic execution names: a trigger that fires twice (a schedule redelivered, a Slack
 * retry) asks for the same name, and Step Functions refuses the duplicate.
 * Allowed characters: letters, digits, - and _; at most 80. The suffix (a request id) is never
 * cut: when `<workflow>-<cluster>-<time>-<suffix>` is too long, a digest of the suffix takes
 * its place, so two requests still get two names and a retry still gets the same one.
 */
export function executionName(workflow: string, cluster: string, at: Date, suffix?: string): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const clean = (s: string) => s.replace(/[^A-Za-z0-9_-]/g, '_');
  const base = clean([workflow, cluster, stamp].join('-'));
  if (!suffix) return base.slice(0, MAX_NAME);
  const full = `${base}-${clean(suffix)}`;
  if (full.length <= MAX_NAME) return full;
  const room = Math.max(MAX_NAME - base.length - 1, 8);
  const digest = createHash('sha256').update(suffix).digest('hex').slice(0, room);
  return `${base.slice(0, MAX_NAME - digest.length - 1)}-${digest}`;
}
