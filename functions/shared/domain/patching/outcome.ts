/**
 * How a patch run ended, pure: from the plan, what each node's item recorded, and the Nodes as
 * they are after the run (the sweep). Every node this run cordoned that is still cordoned is
 * named, with why and the command that undoes it.
 */
import type { InventoryNode, PlanItem } from './plan';

export type NodeOutcome = 'patched' | 'failed' | 'not-started';

/** what one node's item recorded at its end (record-patch writes it) */
export interface NodeResult {
  node: string;
  instanceId: string;
  outcome: NodeOutcome;
  reason?: string;
  rebooted?: boolean;
  packages?: number;
  /** from the cordon to the record */
  durationSeconds?: number;
  /** the failure path left it cordoned (not Ready or not healthy) */
  leftCordoned?: boolean;
  at: string;
}

export interface LeftCordoned {
  node: string;
  reason: string;
  /** what an operator runs to undo the cordon once the node is fine */
  undo: string;
}

export type RunOutcome = 'Succeeded' | 'Paused' | 'Failed';

export interface RunReport {
  outcome: RunOutcome;
  /** one line saying why this outcome */
  why: string;
  patched: string[];
  rebooted: string[];
  failed: { node: string; reason: string }[];
  notStarted: { node: string; reason: string }[];
  leftCordoned: LeftCordoned[];
  /** false when the Nodes could not be read after the run: leftCordoned then lists only what the items recorded */
  swept: boolean;
  durations: number[];
}

/** the command that undoes a Caretaker cordon (the annotation goes with it) */
export function undoCordon(node: string): string {
  return `kubectl uncordon ${node} && kubectl annotate node ${node} caretaker.io/cordoned-by-`;
}

export interface FinishRequest {
  items: readonly PlanItem[];
  results: readonly NodeResult[];
  /** the Nodes after the run; undefined when they could not be read */
  after?: readonly InventoryNode[];
  /** this run's cordon owner (the execution name) */
  owner: string;
  /** the Map stopped: more nodes failed than the error budget allows */
  budgetExceeded: boolean;
  /** the error that stopped the run; with budgetExceeded, the Map's own (its Cause counts the failures) */
  error?: { Error: string; Cause?: string };
}

export function finishRun(req: FinishRequest): RunReport {
  const byNode = new Map<string, NodeResult>();
  for (const r of req.results) byNode.set(r.node, r);
  const patched: string[] = [];
  const rebooted: string[] = [];
  const failed: { node: string; reason: string }[] = [];
  const notStarted: { node: string; reason: string }[] = [];
  const durations: number[] = [];
  for (const item of req.items) {
    const r = byNode.get(item.node);
    if (!r) {
      notStarted.push({
        node: item.node,
        reason: req.budgetExceeded
          ? 'the run stopped: the error budget was used up'
          : req.error
            ? `the run stopped: ${req.error.Error}`
            : 'not reached',
      });
    } else if (r.outcome === 'patched') {
      patched.push(r.node);
      if (r.rebooted) rebooted.push(r.node);
      if (r.durationSeconds !== undefined) durations.push(r.durationSeconds);
    } else if (r.outcome === 'failed') failed.push({ node: r.node, reason: r.reason ?? 'failed' });
    else notStarted.push({ node: r.node, reason: r.reason ?? 'not started' });
  }

  const leftCordoned: LeftCordoned[] = [];
  const reasonFor = (node: string) => {
    const r = byNode.get(node);
    if (r?.outcome === 'failed') return r.reason ?? 'its patch failed';
    if (!r) return 'the run stopped while the node was in flight';
    return r.reason ?? `its item ended ${r.outcome} but the node is still cordoned`;
  };
  if (req.after) {
    for (const n of req.after) {
      if (n.unschedulable && n.cordonedBy === req.owner) {
        leftCordoned.push({ node: n.name, reason: reasonFor(n.name), undo: undoCordon(n.name) });
      }
    }
  } else {
    for (const r of req.results) {
      if (r.leftCordoned)
        leftCordoned.push({ node: r.node, reason: reasonFor(r.node), undo: undoCordon(r.node) });
    }
  }

  let outcome: RunOutcome;
  let why: string;
  if (req.budgetExceeded) {
    outcome = 'Failed';
    why = `more nodes failed than the error budget allows (${req.error?.Cause ?? `${failed.length} failed`}); no further node was started`;
  } else if (req.error) {
    outcome = 'Failed';
    why = `the run stopped: ${req.error.Error}`;
  } else if (notStarted.length > 0) {
    outcome = 'Paused';
    why = `${notStarted.length} node(s) were not started (${notStarted[0]!.reason}); the next window's run resumes with them (patched nodes carry caretaker.io/patched-at and are skipped)`;
  } else {
    outcome = 'Succeeded';
    why =
      failed.length > 0
        ? `every planned node was tried; ${failed.length} failed within the error budget`
        : 'every planned node was patched';
  }
  return { outcome, why, patched, rebooted, failed, notStarted, leftCordoned, swept: !!req.after, durations };
}

/** at most `limit` entries of a list, and how many were left out */
export function firstOf<T>(list: readonly T[], limit: number): { first: T[]; more: number } {
  return { first: list.slice(0, limit), more: Math.max(0, list.length - limit) };
}
