import { inventoryList } from '../shared/domain/commands/node-inventory';
import { planNodeRemediation } from '../shared/domain/remediation';
import { CorruptObjectError, InvalidInputError } from '../shared/errors';
import type { ClusterDirectory, SnapshotStore } from '../shared/ports';
import { patchingSettings } from '../shared/workflows/patch-workers';

export interface PlanNodeRemediationDeps {
  clusters: ClusterDirectory;
  store: SnapshotStore;
}

export interface PlanNodeRemediationInput {
  cluster: string;
  /** where node-inventory just wrote the Nodes */
  key: string;
  /** the alarm's node or instance, when it names one */
  node?: string;
  instanceId?: string;
}

/** how often the wait for Ready looks at the node (node-status) */
export const NODE_POLL_SECONDS = 15;

/** where a remediate execution's node inventory goes: under `<cluster>/remediation/` only */
export const remediationPrefix = (cluster: string) => `${cluster}/remediation/`;
export const nodeInventoryKey = (cluster: string, executionName: string) =>
  `${remediationPrefix(cluster)}${executionName}/nodes.json`;

/**
 * node-notready's plan from the Nodes node-inventory just listed and the cluster's remediation
 * settings (fresh from its configuration): the nodes to act on, or the rule that forbids acting,
 * plus what the per-node steps read (the wait for Ready; the drain policy patching configures,
 * with remediation's drainTimeoutSeconds).
 * @throws ClusterNotFoundError, InvalidInputError (remediation off, a key outside the prefix),
 *   CorruptObjectError (no or unreadable inventory)
 */
export async function planNodes(input: PlanNodeRemediationInput, deps: PlanNodeRemediationDeps) {
  const cluster = await deps.clusters.get(input.cluster);
  const remediation = cluster.remediation;
  if (!remediation?.enabled) throw new InvalidInputError(`cluster: remediation is off for ${input.cluster}`);
  if (!input.key.startsWith(remediationPrefix(cluster.name))) {
    throw new InvalidInputError(`key: ${input.key} is not under ${remediationPrefix(cluster.name)}`);
  }
  const parsed = inventoryList.safeParse(await deps.store.getJson(input.key));
  if (!parsed.success) {
    throw new CorruptObjectError(`${input.key}: the node inventory is missing or not a list of Nodes`);
  }
  const plan = planNodeRemediation({
    nodes: parsed.data,
    named: {
      ...(input.node !== undefined && { node: input.node }),
      ...(input.instanceId !== undefined && { instanceId: input.instanceId }),
    },
    maxNodesAtOnce: remediation.maxNodesAtOnce,
    maxUnhealthyPercent: remediation.maxUnhealthyPercent,
    readyTimeoutMinutes: remediation.readyTimeoutMinutes,
  });
  const drain = patchingSettings(cluster).drain;
  return {
    ...plan,
    settings: {
      pollSeconds: NODE_POLL_SECONDS,
      readyChecks: Math.max(1, Math.ceil((remediation.readyTimeoutMinutes * 60) / NODE_POLL_SECONDS)),
      drain: {
        // a dead node's pods never finish terminating: the remediation's own, shorter wait
        timeoutSeconds: remediation.drainTimeoutSeconds ?? drain.timeoutSeconds,
        gracePeriodSeconds: drain.gracePeriodSeconds,
        deleteEmptyDirData: drain.deleteEmptyDirData,
        force: drain.force,
      },
    },
  };
}
