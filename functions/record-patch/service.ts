import { patchKeys } from '../shared/domain/patching/keys';
import type { NodeOutcome, NodeResult } from '../shared/domain/patching/outcome';
import type { Clock, InstanceTagger, MetricSink, SnapshotStore } from '../shared/ports';

export interface RecordPatchDeps {
  tagger: InstanceTagger;
  store: SnapshotStore;
  metrics: MetricSink;
  clock: Clock;
}

export interface PatchReport {
  manager: string;
  packages: number;
  changed: string[];
  rebootRequired: boolean;
  rebooted: boolean;
  bootIdBefore: string;
  bootIdAfter: string;
}

export interface RecordPatchInput {
  cluster: string;
  executionName: string;
  node: string;
  instanceId: string;
  outcome: NodeOutcome;
  /** when the item started on this node */
  startedAt?: string;
  /** os-patch's result, for a patched node */
  patch?: PatchReport;
  /** the step that failed and its error, for a failed node */
  step?: string;
  error?: { Error: string; Cause?: string };
  /** why a node was not started, or why it was left as it is */
  reason?: string;
  /** the failure path left it cordoned */
  leftCordoned?: boolean;
}

/** the instance tags of a patch record */
export const PATCHED_AT_TAG = 'caretaker:patched-at';
export const PATCHED_BY_TAG = 'caretaker:patched-by';
export const PATCH_SUMMARY_TAG = 'caretaker:patch-summary';

/** how much of an error's cause a node's reason keeps */
const REASON_MAX = 500;

function failureReason(input: RecordPatchInput): string {
  const parts = [input.step, input.error?.Error, input.error?.Cause, input.reason].filter(Boolean);
  const text = parts.join(': ') || 'failed';
  return text.length > REASON_MAX ? `${text.slice(0, REASON_MAX - 1)}…` : text;
}

/**
 * `manager=apt,packages=12,rebooted=true,seconds=754`: fits node-record's summary pattern and an
 * EC2 tag. `seconds` (cordon to record) is what the next run's plan orders by, longest first.
 */
export function patchSummary(patch: PatchReport, durationSeconds?: number): string {
  const summary = `manager=${patch.manager},packages=${Math.max(0, patch.packages)},rebooted=${patch.rebooted}`;
  return durationSeconds === undefined ? summary : `${summary},seconds=${durationSeconds}`;
}

/**
 * Records how one node's item ended: the result object the run's report is built from, and for
 * a patched node the instance tags and the per-node metrics. Called once at the end of every
 * item, whatever happened, so the report does not depend on the Map's own output.
 * @throws InvalidInputError (an instance that is not the cluster's), TransientError
 */
export async function recordPatch(input: RecordPatchInput, deps: RecordPatchDeps) {
  const now = deps.clock.now();
  const at = now.toISOString();
  const durationSeconds = input.startedAt
    ? Math.max(0, Math.round((now.getTime() - Date.parse(input.startedAt)) / 1000))
    : undefined;
  const result: NodeResult = {
    node: input.node,
    instanceId: input.instanceId,
    outcome: input.outcome,
    at,
  };
  if (input.outcome === 'failed') result.reason = failureReason(input);
  else if (input.reason) result.reason = input.reason.slice(0, REASON_MAX);
  if (input.leftCordoned !== undefined) result.leftCordoned = input.leftCordoned;
  if (durationSeconds !== undefined && input.outcome !== 'not-started')
    result.durationSeconds = durationSeconds;

  let summary: string | undefined;
  if (input.outcome === 'patched' && input.patch) {
    summary = patchSummary(input.patch, durationSeconds);
    result.rebooted = input.patch.rebooted;
    result.packages = Math.max(0, input.patch.packages);
    await deps.tagger.tag(input.cluster, input.instanceId, {
      [PATCHED_AT_TAG]: at,
      [PATCHED_BY_TAG]: input.executionName,
      [PATCH_SUMMARY_TAG]: summary,
    });
    // node and instance are fields of the line, not dimensions (no catalogued metric here):
    // the dashboard's "last patch of each worker" table groups by them at no per-node cost
    await deps.metrics.record(
      { cluster: input.cluster, workflow: 'patch-workers', node: input.node, instanceId: input.instanceId },
      {
        NodePatchSeconds: { value: durationSeconds ?? 0, unit: 'Seconds' },
        NodeRebooted: { value: input.patch.rebooted ? 1 : 0, unit: 'Count' },
        PackagesChanged: { value: Math.max(0, input.patch.packages), unit: 'Count' },
      },
    );
  }
  await deps.store.putJson(patchKeys(input.cluster, input.executionName).result(input.node), result);
  return {
    node: input.node,
    outcome: input.outcome,
    patchedAt: at,
    packages: result.packages ?? 0,
    summary: summary ?? '',
  };
}
