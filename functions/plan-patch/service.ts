import { patchKeys } from '../shared/domain/patching/keys';
import { planPatch, summarizePlan, type InventoryNode } from '../shared/domain/patching/plan';
import { checkKubeletTarget } from '../shared/domain/kubernetes-version';
import { CorruptObjectError, PreflightRefusedError } from '../shared/errors';
import type { Clock, ClusterDirectory, Inventory, SnapshotStore } from '../shared/ports';
import { patchingSettings } from '../shared/workflows/patch-workers';

export interface PlanPatchDeps {
  clusters: ClusterDirectory;
  inventory: Inventory;
  store: SnapshotStore;
  clock: Clock;
  bucket: string;
}

export interface PlanPatchInput {
  cluster: string;
  executionName: string;
  dryRun?: boolean;
  /** a kubelet upgrade to this release instead of an OS patch */
  kubernetesVersion?: string;
  /** the API server's version as node-inventory read it (needed with kubernetesVersion) */
  apiServerVersion?: string;
}

/**
 * Plans the run from what is there now: the worker instances (EC2 tags, SSM Online) and the
 * Nodes node-inventory just wrote. The items go to S3 for the Distributed Map's ItemReader and
 * the whole plan beside them; the state gets the key, the counts and a bounded summary.
 * With `kubernetesVersion`, the run upgrades kubelets instead: refused (before any node is
 * touched) when the target is newer than the API server, and nodes already at it are skipped.
 * @throws ClusterNotFoundError, CorruptObjectError (no or unreadable node inventory),
 *   PreflightRefusedError (a kubelet target the version skew policy forbids)
 */
export async function planPatchRun(input: PlanPatchInput, deps: PlanPatchDeps) {
  const cluster = await deps.clusters.get(input.cluster);
  if (input.kubernetesVersion !== undefined) {
    const problems = checkKubeletTarget(input.kubernetesVersion, input.apiServerVersion ?? '');
    if (problems.length > 0) {
      throw new PreflightRefusedError(
        `kubelet upgrade of ${cluster.name} refused, no node touched: ${problems.join('; ')}`,
      );
    }
  }
  const settings = patchingSettings(cluster);
  const keys = patchKeys(cluster.name, input.executionName);
  const nodes = await deps.store.getJson(keys.before);
  if (!Array.isArray(nodes)) {
    throw new CorruptObjectError(`${keys.before}: the node inventory is missing or not a JSON array`);
  }
  const workers = await deps.inventory.findManagedInstances(cluster.workerTags);
  const plan = planPatch({
    workers,
    nodes: nodes as InventoryNode[],
    settings,
    now: deps.clock.now(),
    owner: input.executionName,
    ...(input.kubernetesVersion === undefined ? {} : { kubernetesVersion: input.kubernetesVersion }),
  });
  await deps.store.putJson(keys.plan, plan.items);
  await deps.store.putJson(keys.planDetail, plan);
  return {
    bucket: deps.bucket,
    key: keys.plan,
    detailKey: keys.planDetail,
    dryRun: input.dryRun ?? false,
    kubernetesVersion: input.kubernetesVersion ?? null,
    ...summarizePlan(plan),
  };
}
