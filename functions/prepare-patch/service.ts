import { runWindowEnd, nextWindowStart } from '../shared/domain/patching/window';
import { patchKeys } from '../shared/domain/patching/keys';
import { NoInstancesFoundError } from '../shared/errors';
import type { Clock, ClusterDirectory, Inventory } from '../shared/ports';
import { patchingSettings } from '../shared/workflows/patch-workers';

export interface PreparePatchDeps {
  clusters: ClusterDirectory;
  inventory: Inventory;
  clock: Clock;
}

export interface PreparePatchInput {
  cluster: string;
  executionName: string;
  /** a manual run outside the window: one window length from now */
  now?: boolean;
}

/** how often the wait loops look at a node (node-status) */
export const POLL_SECONDS = 15;

/**
 * What the rest of the run needs, read once: the control-plane node kubectl runs on, the
 * object keys, the maintenance window this run may use, and the settings the per-node steps
 * read (small: they travel in every Map item).
 * @throws ClusterNotFoundError, NoInstancesFoundError
 */
export async function preparePatch(input: PreparePatchInput, deps: PreparePatchDeps) {
  const cluster = await deps.clusters.get(input.cluster);
  const p = patchingSettings(cluster);
  const controlPlane = await deps.inventory.findManagedInstances(cluster.controlPlaneTags);
  if (controlPlane.length === 0) {
    throw new NoInstancesFoundError(
      `no running, SSM-managed control-plane instance of ${cluster.name}: kubectl cordon/drain run there`,
    );
  }
  const now = deps.clock.now();
  const window = runWindowEnd(p.window, now, input.now ?? false);
  const next = window ? undefined : nextWindowStart(p.window, now);
  const keys = patchKeys(cluster.name, input.executionName);
  return {
    // the lowest instance id: the same node for every step of the run
    controlPlane: controlPlane[0]!.instanceId,
    keys: { before: keys.before, after: keys.after },
    podSelector: p.blockers.holdPodSelector,
    window: {
      open: window !== undefined,
      ...(window ? { start: window.start.toISOString(), end: window.end.toISOString() } : {}),
      ...(next ? { nextStart: next.toISOString() } : {}),
    },
    settings: {
      command: p.method === 'patch-baseline' ? 'os-patch-baseline' : 'os-patch',
      method: p.method,
      scope: p.scope,
      reboot: p.reboot,
      drain: p.drain,
      nodeMinutes: p.window.nodeMinutes,
      alarms: p.blockers.alarms,
      pollSeconds: POLL_SECONDS,
      returnChecks: Math.ceil(p.health.returnTimeoutSeconds / POLL_SECONDS),
      readySeconds: p.health.readySeconds,
      // DaemonSet pods get as long to become Ready as a node gets to come back
      healthChecks: Math.ceil(p.health.returnTimeoutSeconds / POLL_SECONDS),
    },
  };
}
