import { patchKeys } from '../shared/domain/patching/keys';
import { planPatch, summarizePlan, type InventoryNode } from '../shared/domain/patching/plan';
import { CorruptObjectError } from '../shared/errors';
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
}

/**
 * Plans the run from what is there now: the worker instances (EC2 tags, SSM Online) and the
 * Nodes node-inventory just wrote. The items go to S3 for the Distributed Map's ItemReader and
 * the whole plan beside them; the state gets the key, the counts and a bounded summary.
 * @throws ClusterNotFoundError, CorruptObjectError (no or unreadable node inventory)
 */
export async function planPatchRun(input: PlanPatchInput, deps: PlanPatchDeps) {
  const cluster = await deps.clusters.get(input.cluster);
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
  });
  await deps.store.putJson(keys.plan, plan.items);
  await deps.store.putJson(keys.planDetail, plan);
  return {
    bucket: deps.bucket,
    key: keys.plan,
    detailKey: keys.planDetail,
    dryRun: input.dryRun ?? false,
    ...summarizePlan(plan),
  };
}
