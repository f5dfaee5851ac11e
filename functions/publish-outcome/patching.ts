/**
 * The lines a patch-workers message adds: for a dry run the plan, for a run what was patched,
 * what failed, what is left, and every node left cordoned with the command that undoes it.
 */
interface Named<T> {
  first: T[];
  more: number;
}

const list = (items: Named<string> | undefined) =>
  items && items.first.length > 0
    ? items.first.join(', ') + (items.more > 0 ? ` and ${items.more} more` : '')
    : 'none';

export function describePatching(p: Record<string, unknown>): string[] {
  const lines: string[] = [];
  if (p['open'] === false) {
    // the maintenance window as prepare-patch saw it: closed
    return p['nextStart'] ? [`The next window opens at ${String(p['nextStart'])}.`] : [];
  }
  if (p['dryRun'] === true) {
    lines.push(
      `Dry run: nothing was changed. ${String(p['toPatch'])} of ${String(p['workers'])} worker(s) would be patched, ` +
        `${String(p['maxConcurrency'])} at a time (maxUnavailable ${String(p['maxUnavailable'])}, ${String(p['alreadyUnavailable'])} already unavailable), ` +
        `stopping after ${String(p['toleratedFailures'])} failure(s).`,
    );
    const first = (p['firstNodes'] as string[] | undefined) ?? [];
    if (first.length > 0) lines.push(`First in line: ${first.join(', ')}`);
    const skipped =
      (p['skippedNodes'] as { node: string; reason: string; detail: string }[] | undefined) ?? [];
    if (skipped.length > 0) {
      lines.push(
        `Skipped (${String(p['skipped'])}):`,
        ...skipped.map((s) => `  ${s.node}: ${s.reason} (${s.detail})`),
      );
    }
    if (p['detailKey']) lines.push(`The whole plan: ${String(p['detailKey'])}`);
    return lines;
  }
  if (p['why']) lines.push(String(p['why']));
  if (p['planned'] !== undefined) {
    lines.push(
      `Planned ${String(p['planned'])}, skipped ${String(p['skipped'])}; rebooted ${String(p['rebooted'] ?? 0)}.`,
    );
  }
  lines.push(`Patched: ${list(p['patched'] as Named<string> | undefined)}`);
  const failed = p['failed'] as Named<{ node: string; reason: string }> | undefined;
  if (failed && failed.first.length > 0) {
    lines.push('Failed:', ...failed.first.map((f) => `  ${f.node}: ${f.reason}`));
    if (failed.more > 0) lines.push(`  and ${failed.more} more`);
  }
  const notStarted = p['notStarted'] as Named<string> | undefined;
  if (notStarted && notStarted.first.length > 0)
    lines.push(`Not started (left for the next run): ${list(notStarted)}`);
  if (p['nextWindowStart']) lines.push(`The next window opens at ${String(p['nextWindowStart'])}.`);
  const cordoned = (p['leftCordoned'] as { node: string; reason: string; undo: string }[] | undefined) ?? [];
  if (cordoned.length > 0) {
    lines.push(
      'LEFT CORDONED by Caretaker (look at each, then undo):',
      ...cordoned.map((c) => `  ${c.node}: ${c.reason}\n    undo: ${c.undo}`),
    );
  } else if (p['swept'] === true) {
    lines.push('No node Caretaker cordoned is left cordoned.');
  }
  if (p['swept'] === false) {
    lines.push(
      'The Nodes could not be read after the run: check `kubectl get nodes` for nodes annotated caretaker.io/cordoned-by.',
    );
  }
  if (p['reportKey']) lines.push(`Report: ${String(p['reportKey'])}`);
  return lines;
}
