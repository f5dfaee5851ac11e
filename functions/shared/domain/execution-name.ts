/**
 * Deterministic execution names: a trigger that fires twice (a schedule redelivered, a Slack
 * retry) asks for the same name, and Step Functions refuses the duplicate.
 * Allowed characters: letters, digits, - and _; at most 80.
 */
export function executionName(workflow: string, cluster: string, at: Date, suffix?: string): string {
  const stamp = at
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const parts = [workflow, cluster, stamp, suffix].filter((p): p is string => !!p);
  return parts
    .join('-')
    .replace(/[^A-Za-z0-9_-]/g, '_')
    .slice(0, 80);
}
