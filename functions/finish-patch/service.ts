import { patchKeys } from '../shared/domain/patching/keys';
import { finishRun, firstOf, type NodeResult } from '../shared/domain/patching/outcome';
import type { InventoryNode, PatchPlan, PlanItem } from '../shared/domain/patching/plan';
import { nextWindowStart } from '../shared/domain/patching/window';
import { CorruptObjectError } from '../shared/errors';
import type { Clock, ClusterDirectory, MetricSink, SnapshotStore } from '../shared/ports';
import { patchingSettings } from '../shared/workflows/patch-workers';

export interface FinishPatchDeps {
  clusters: ClusterDirectory;
  store: SnapshotStore;
  metrics: MetricSink;
  clock: Clock;
}

export interface FinishPatchInput {
  cluster: string;
  executionName: string;
  /** the error that stopped the Map (States.ExceedToleratedFailureThreshold: the error budget) */
  error?: { Error: string; Cause?: string } | null;
}

/** how many names of each list the state (and the message) carries; report.json has them all */
export const NAMES_IN_STATE = 25;
/** results read from S3 at once */
const READ_CONCURRENCY = 16;

async function readResults(store: SnapshotStore, prefix: string): Promise<NodeResult[]> {
  const objects = await store.list(prefix);
  const out: NodeResult[] = [];
  for (let at = 0; at < objects.length; at += READ_CONCURRENCY) {
    const batch = await Promise.all(
      objects.slice(at, at + READ_CONCURRENCY).map((o) => store.getJson(o.key)),
    );
    for (const r of batch) if (r) out.push(r as NodeResult);
  }
  return out;
}

/**
 * The end of a run: what each node's item recorded, checked against the Nodes as they are now
 * (the sweep: a node this run cordoned that is still cordoned is named with why and the command
 * that undoes it), the outcome (Succeeded, Paused when nodes were left for the next window,
 * Failed when the error budget ran out), the report in S3 and the run's metrics.
 * @throws ClusterNotFoundError, CorruptObjectError (no plan)
 */
export async function finishPatch(input: FinishPatchInput, deps: FinishPatchDeps) {
  const cluster = await deps.clusters.get(input.cluster);
  const keys = patchKeys(cluster.name, input.executionName);
  const items = await deps.store.getJson(keys.plan);
  if (!Array.isArray(items))
    throw new CorruptObjectError(`${keys.plan}: the plan is missing or not a JSON array`);
  const detail = (await deps.store.getJson(keys.planDetail)) as PatchPlan | undefined;
  const results = await readResults(deps.store, keys.results);
  // the Nodes after the run; absent when that inventory could not be taken
  const after = (await deps.store.getJson(keys.after)) as InventoryNode[] | undefined;
  const budgetExceeded = input.error?.Error === 'States.ExceedToleratedFailureThreshold';
  const report = finishRun({
    items: items as PlanItem[],
    results,
    after: Array.isArray(after) ? after : undefined,
    owner: input.executionName,
    budgetExceeded,
    error: input.error ?? undefined,
  });
  if (detail && detail.maxConcurrency === 0 && items.length > 0 && results.length === 0) {
    report.why = `no node was started: ${detail.alreadyUnavailable} worker(s) are already unavailable and maxUnavailable is ${detail.maxUnavailable}`;
    for (const n of report.notStarted) n.reason = 'maxUnavailable is used up by nodes already unavailable';
  }
  const now = deps.clock.now();
  const settings = patchingSettings(cluster);
  const next =
    report.outcome === 'Paused' && settings.enabled ? nextWindowStart(settings.window, now) : undefined;
  await deps.store.putJson(keys.report, {
    ...report,
    skipped: detail?.skipped ?? [],
    finishedAt: now.toISOString(),
  });

  const durations = report.durations;
  await deps.metrics.record(
    { cluster: cluster.name, workflow: 'patch-workers' },
    {
      NodesPatched: { value: report.patched.length, unit: 'Count' },
      NodesFailed: { value: report.failed.length, unit: 'Count' },
      NodesRebooted: { value: report.rebooted.length, unit: 'Count' },
      NodesSkipped: { value: detail?.skipped.length ?? 0, unit: 'Count' },
      NodesNotStarted: { value: report.notStarted.length, unit: 'Count' },
      NodesLeftCordoned: { value: report.leftCordoned.length, unit: 'Count' },
      ...(durations.length > 0
        ? { NodePatchSecondsMax: { value: Math.max(...durations), unit: 'Seconds' as const } }
        : {}),
      ...(detail?.oldestPatchDays !== undefined
        ? { DaysSinceLastPatch: { value: detail.oldestPatchDays, unit: 'Count' as const } }
        : {}),
    },
  );

  const names = <T>(list: readonly T[]) => firstOf(list, NAMES_IN_STATE);
  return {
    outcome: report.outcome,
    why: report.why,
    reportKey: keys.report,
    planned: items.length,
    skipped: detail?.skipped.length ?? 0,
    patched: names(report.patched),
    rebooted: report.rebooted.length,
    failed: names(report.failed),
    notStarted: names(report.notStarted.map((n) => n.node)),
    // every node left cordoned is named (at most maxUnavailable + the error budget of them)
    leftCordoned: report.leftCordoned,
    swept: report.swept,
    ...(next ? { nextWindowStart: next.toISOString() } : {}),
  };
}
