import { runWindowEnd, nextWindowStart } from '../shared/domain/patching/window';
import { patchKeys } from '../shared/domain/patching/keys';
import { NoInstancesFoundError, NotForThisKindError } from '../shared/errors';
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
  /** a kubelet upgrade to this release instead of an OS patch */
  kubernetesVersion?: string;
  /** the execution whose lease this run works under (the upgrade that started it) */
  parentOwner?: string;
}

/**
 * a run started by a parent workflow (the control-plane upgrade, approved by a person) ignores
 * the maintenance window: it may start nodes for this long (inside patch-workers' own execution
 * timeout, 26 hours, so a long run ends Paused and reported rather than timed out)
 */
export const UNWINDOWED_RUN_HOURS = 24;

/** how often the wait loops look at a node (node-status) */
export const POLL_SECONDS = 15;

/**
 * What the rest of the run needs, read once: the control-plane node kubectl runs on, the
 * object keys, the maintenance window this run may use, and the settings the per-node steps
 * read (small: they travel in every Map item).
 * With `kubernetesVersion` every node's change is kubelet-upgrade instead of the OS patch; with
 * `parentOwner` (started by the control-plane upgrade) the maintenance window does not apply.
 * @throws ClusterNotFoundError, NoInstancesFoundError, NotForThisKindError (a kubelet upgrade of
 *   a kops cluster: kops replaces its workers itself)
 */
export async function preparePatch(input: PreparePatchInput, deps: PreparePatchDeps) {
  const cluster = await deps.clusters.get(input.cluster);
  const p = patchingSettings(cluster);
  const kubelet = input.kubernetesVersion;
  if (kubelet !== undefined && cluster.kind === 'kops') {
    throw new NotForThisKindError(
      `${cluster.name} is a kops cluster: its workers' kubelets are upgraded by replacing them (kops rolling-update cluster --yes), not by kubeadm on the node`,
    );
  }
  const controlPlane = await deps.inventory.findManagedInstances(cluster.controlPlaneTags);
  if (controlPlane.length === 0) {
    throw new NoInstancesFoundError(
      `no running, SSM-managed control-plane instance of ${cluster.name}: kubectl cordon/drain run there`,
    );
  }
  const now = deps.clock.now();
  const window =
    input.parentOwner !== undefined
      ? { start: now, end: new Date(now.getTime() + UNWINDOWED_RUN_HOURS * 3_600_000) }
      : runWindowEnd(p.window, now, input.now ?? false);
  const next = window ? undefined : nextWindowStart(p.window, now);
  const keys = patchKeys(cluster.name, input.executionName);
  return {
    // the lowest instance id: the same node for every step of the run
    controlPlane: controlPlane[0]!.instanceId,
    keys: { before: keys.before, after: keys.after },
    podSelector: p.blockers.holdPodSelector,
    window: {
      open: window !== undefined,
      ignored: input.parentOwner !== undefined,
      ...(window ? { start: window.start.toISOString(), end: window.end.toISOString() } : {}),
      ...(next ? { nextStart: next.toISOString() } : {}),
    },
    settings: {
      command:
        kubelet !== undefined
          ? 'kubelet-upgrade'
          : p.method === 'patch-baseline'
            ? 'os-patch-baseline'
            : 'os-patch',
      /** null: an OS patch; a release: the kubelet upgrade the health gate checks for */
      kubernetesVersion: kubelet ?? null,
      packageManager: cluster.upgrade?.packageManager ?? 'auto',
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
