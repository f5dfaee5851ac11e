/**
 * The patch plan, pure: which workers to patch in which order, which to skip and why, how many
 * may be unavailable at once and how many may fail. Inputs are plain values (the EC2 workers
 * and the node-inventory command's Nodes); the time is an argument.
 */
import type { CountOrPercent, PatchingSettings } from '../../workflows/patch-workers';
import { PATCH_SUMMARY_ANNOTATION } from '../commands/kubernetes-access';

export const PATCHED_AT = 'caretaker.io/patched-at';
export const PATCHED_BY = 'caretaker.io/patched-by';
export const CORDONED_BY = 'caretaker.io/cordoned-by';
const DAY_MS = 86_400_000;
const CONTROL_PLANE_LABELS = ['node-role.kubernetes.io/control-plane', 'node-role.kubernetes.io/master'];

/** one Node as the node-inventory command writes it */
export interface InventoryNode {
  name: string;
  providerID: string;
  instanceId?: string;
  availabilityZone?: string;
  labels: Record<string, string>;
  /** caretaker.io/* only */
  annotations: Record<string, string>;
  unschedulable: boolean;
  cordonedBy?: string;
  ready: boolean;
  readySince?: string;
  kubeletVersion?: string;
  bootID?: string;
  /** pods matching the hold selector that run on it */
  heldByPods: string[];
}

/** a worker instance as the Inventory port finds it (running, tagged, SSM Online) */
export interface WorkerInstance {
  instanceId: string;
  availabilityZone?: string;
  name?: string;
}

/** one node to patch: the Distributed Map's item, kept small */
export interface PlanItem {
  node: string;
  instanceId: string;
  availabilityZone: string;
  /** absent: never patched by Caretaker */
  lastPatchedAt?: string;
  /** how long its last patch took, cordon to record (absent: not recorded) */
  lastPatchSeconds?: number;
}

export type SkipReason =
  | 'held-by-label'
  | 'held-by-pod'
  | 'not-ready'
  | 'cordoned-by-someone-else'
  | 'patched-recently'
  | 'no-node'
  | 'no-instance';

export interface SkippedNode {
  /** the Node's name; absent for an instance with no Node */
  node?: string;
  instanceId?: string;
  reason: SkipReason;
  detail: string;
}

export interface PatchPlan {
  items: PlanItem[];
  skipped: SkippedNode[];
  /** workers joined to a Node: what maxUnavailable's percentage counts */
  workers: number;
  /** workers that are not Ready or are cordoned (not by this run) already */
  alreadyUnavailable: number;
  /** maxUnavailable as a count */
  maxUnavailable: number;
  /** nodes the run may take down at once: maxUnavailable minus those already down (may be 0) */
  maxConcurrency: number;
  /** nodes that may fail before the run stops starting nodes (the error budget as a count) */
  toleratedFailures: number;
  /** days since the least recently patched worker was patched; undefined when none ever was */
  oldestPatchDays?: number;
  /** workers Caretaker has no patch record of */
  neverPatched: number;
}

/**
 * A count or percentage of `total` as a count: percentages round down, but a non-zero
 * percentage of a non-empty fleet is at least `atLeast`.
 */
export function resolveCount(value: CountOrPercent, total: number, atLeast = 0): number {
  if (typeof value === 'number') return value;
  const percent = Number(value.slice(0, -1));
  const n = Math.floor((total * percent) / 100);
  return percent > 0 && total > 0 ? Math.max(n, atLeast) : n;
}

/** `aws:///eu-west-1a/i-0123…` → the instance id and zone */
export function parseProviderId(providerID: string): { instanceId?: string; availabilityZone?: string } {
  const m = /^aws:\/\/\/([^/]*)\/(i-[0-9a-f]+)$/.exec(providerID);
  return m ? { availabilityZone: m[1] || undefined, instanceId: m[2] } : {};
}

/**
 * How long a node's last patch took, in seconds, from its patch summary annotation
 * (`…,seconds=754`, written by record-patch through node-record); undefined when the summary is
 * absent or older than the field.
 */
export function lastPatchSeconds(annotations: Record<string, string>): number | undefined {
  const m = /(?:^|,)seconds=(\d{1,7})(?:,|$)/.exec(annotations[PATCH_SUMMARY_ANNOTATION] ?? '');
  return m ? Number(m[1]) : undefined;
}

/** does the label (`key` or `key=value`) hold the node? */
export function holdsNode(holdLabel: string, labels: Record<string, string>): boolean {
  if (!holdLabel) return false;
  const eq = holdLabel.indexOf('=');
  if (eq < 0) return Object.hasOwn(labels, holdLabel);
  return labels[holdLabel.slice(0, eq)] === holdLabel.slice(eq + 1);
}

export interface PlanRequest {
  workers: readonly WorkerInstance[];
  nodes: readonly InventoryNode[];
  settings: Pick<PatchingSettings, 'maxUnavailable' | 'errorBudget' | 'patchedWithinDays' | 'blockers'>;
  now: Date;
  /** this run's cordon owner (the execution name): a node it cordoned itself is still its own */
  owner: string;
}

/**
 * Plans a patch run: workers joined to Nodes by providerID, the ones that must wait skipped and
 * named, the rest longest expected patch first (their last recorded duration; unknown first, then
 * oldest patch first) and spread over availability zones.
 */
export function planPatch(req: PlanRequest): PatchPlan {
  const { settings, now, owner } = req;
  const byInstance = new Map<string, WorkerInstance>();
  for (const w of req.workers) byInstance.set(w.instanceId, w);
  const joined = new Set<string>();
  const skipped: SkippedNode[] = [];
  const candidates: (PlanItem & { patchedMs: number; expectedSeconds: number })[] = [];
  let workers = 0;
  let alreadyUnavailable = 0;
  let neverPatched = 0;
  let oldestMs: number | undefined;
  const recentMs = now.getTime() - settings.patchedWithinDays * DAY_MS;

  for (const n of req.nodes) {
    const fromProvider = parseProviderId(n.providerID);
    const instanceId = n.instanceId ?? fromProvider.instanceId;
    const worker = instanceId ? byInstance.get(instanceId) : undefined;
    if (!worker) {
      if (CONTROL_PLANE_LABELS.some((l) => Object.hasOwn(n.labels, l))) continue;
      skipped.push({
        node: n.name,
        instanceId,
        reason: 'no-instance',
        detail: `no running, SSM-managed worker instance matches providerID "${n.providerID}"`,
      });
      continue;
    }
    joined.add(worker.instanceId);
    workers += 1;
    const ours = n.cordonedBy === owner;
    if (!n.ready || (n.unschedulable && !ours)) alreadyUnavailable += 1;
    const patchedAt = n.annotations[PATCHED_AT];
    const patchedMs = patchedAt ? Date.parse(patchedAt) : NaN;
    if (Number.isNaN(patchedMs)) neverPatched += 1;
    else oldestMs = oldestMs === undefined ? patchedMs : Math.min(oldestMs, patchedMs);

    const skip = (reason: SkipReason, detail: string) =>
      skipped.push({ node: n.name, instanceId: worker.instanceId, reason, detail });
    if (holdsNode(settings.blockers.holdLabel, n.labels)) {
      skip('held-by-label', `label ${settings.blockers.holdLabel} holds it`);
    } else if (n.heldByPods.length > 0) {
      skip(
        'held-by-pod',
        `pod(s) matching "${settings.blockers.holdPodSelector}" run on it: ${n.heldByPods.slice(0, 5).join(', ')}${n.heldByPods.length > 5 ? ` and ${n.heldByPods.length - 5} more` : ''}`,
      );
    } else if (n.unschedulable && !ours) {
      skip(
        'cordoned-by-someone-else',
        n.cordonedBy
          ? `cordoned by ${n.cordonedBy} (caretaker.io/cordoned-by), not by this run`
          : 'cordoned by someone else (no caretaker.io/cordoned-by annotation)',
      );
    } else if (!n.ready) {
      skip('not-ready', 'the Node is not Ready');
    } else if (!Number.isNaN(patchedMs) && patchedMs > recentMs) {
      skip('patched-recently', `patched at ${patchedAt}, within ${settings.patchedWithinDays} days`);
    } else {
      const seconds = lastPatchSeconds(n.annotations);
      candidates.push({
        node: n.name,
        instanceId: worker.instanceId,
        availabilityZone:
          worker.availabilityZone ?? fromProvider.availabilityZone ?? n.availabilityZone ?? '',
        ...(patchedAt && !Number.isNaN(patchedMs) ? { lastPatchedAt: patchedAt } : {}),
        ...(seconds === undefined ? {} : { lastPatchSeconds: seconds }),
        patchedMs: Number.isNaN(patchedMs) ? -Infinity : patchedMs,
        // a node whose duration is unknown may be the longest: it goes first
        expectedSeconds: seconds ?? Infinity,
      });
    }
  }
  for (const w of req.workers) {
    if (!joined.has(w.instanceId)) {
      skipped.push({
        instanceId: w.instanceId,
        reason: 'no-node',
        detail: `worker instance ${w.instanceId}${w.name ? ` (${w.name})` : ''} has no Node with its providerID`,
      });
    }
  }

  const items = spreadOverZones(candidates).map(({ patchedMs: _, expectedSeconds: __, ...item }) => item);
  const maxUnavailable = Math.max(resolveCount(settings.maxUnavailable, workers, 1), 0);
  return {
    items,
    skipped,
    workers,
    alreadyUnavailable,
    maxUnavailable,
    maxConcurrency: Math.max(0, Math.min(maxUnavailable - alreadyUnavailable, items.length)),
    toleratedFailures: resolveCount(settings.errorBudget, items.length),
    oldestPatchDays: oldestMs === undefined ? undefined : Math.floor((now.getTime() - oldestMs) / DAY_MS),
    neverPatched,
  };
}

/**
 * Longest expected patch first, spread over zones. Every node here is due (not patched within
 * patchedWithinDays), so the order only decides how long the run takes and, when the window ends
 * first, which nodes wait for the next window's run (which then has only those left: none waits
 * twice for the same reason). Longest first (LPT list scheduling) keeps a long node from starting
 * late and finishing alone while the other slots sit idle: with a sliding window of m slots its
 * makespan is at most 4/3 of the optimum, and close to the lower bound max(Σ/m, longest) when
 * there are many nodes. A node with no recorded duration counts as the longest (it may be, and
 * never-patched nodes stay first); ties go oldest patch first, then by name.
 *
 * Zones: within each zone in that order; then the first of every zone, the second of every zone,
 * and so on, each round in that order. A window of N nodes in flight then takes from as many
 * zones as it can.
 */
function spreadOverZones<
  T extends { node: string; availabilityZone: string; patchedMs: number; expectedSeconds: number },
>(nodes: readonly T[]): T[] {
  // Infinity - Infinity is NaN, which is falsy: equal unknowns fall through to the next key
  const first = (a: T, b: T) =>
    b.expectedSeconds - a.expectedSeconds || a.patchedMs - b.patchedMs || a.node.localeCompare(b.node);
  const sorted = [...nodes].sort(first);
  const rank = new Map<T, number>();
  const seen = new Map<string, number>();
  for (const n of sorted) {
    const r = seen.get(n.availabilityZone) ?? 0;
    rank.set(n, r);
    seen.set(n.availabilityZone, r + 1);
  }
  return sorted.sort((a, b) => rank.get(a)! - rank.get(b)! || first(a, b));
}

/** what the plan's summary names of each list, so a state payload stays small */
export const SUMMARY_NAMES = 20;

export interface PlanSummary {
  workers: number;
  toPatch: number;
  skipped: number;
  skippedByReason: Partial<Record<SkipReason, number>>;
  /** the first SUMMARY_NAMES skipped nodes with their reason */
  skippedNodes: { node: string; reason: SkipReason; detail: string }[];
  /** the first SUMMARY_NAMES nodes in patch order */
  firstNodes: string[];
  maxUnavailable: number;
  alreadyUnavailable: number;
  maxConcurrency: number;
  toleratedFailures: number;
  oldestPatchDays?: number;
  neverPatched: number;
}

/** the plan as a bounded summary: counts, and names up to SUMMARY_NAMES per list */
export function summarizePlan(plan: PatchPlan): PlanSummary {
  const skippedByReason: Partial<Record<SkipReason, number>> = {};
  for (const s of plan.skipped) skippedByReason[s.reason] = (skippedByReason[s.reason] ?? 0) + 1;
  return {
    workers: plan.workers,
    toPatch: plan.items.length,
    skipped: plan.skipped.length,
    skippedByReason,
    skippedNodes: plan.skipped.slice(0, SUMMARY_NAMES).map((s) => ({
      node: s.node ?? s.instanceId ?? '?',
      reason: s.reason,
      detail: s.detail.slice(0, 200),
    })),
    firstNodes: plan.items.slice(0, SUMMARY_NAMES).map((i) => i.node),
    maxUnavailable: plan.maxUnavailable,
    alreadyUnavailable: plan.alreadyUnavailable,
    maxConcurrency: plan.maxConcurrency,
    toleratedFailures: plan.toleratedFailures,
    ...(plan.oldestPatchDays === undefined ? {} : { oldestPatchDays: plan.oldestPatchDays }),
    neverPatched: plan.neverPatched,
  };
}
