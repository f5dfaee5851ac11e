import { scratchClientToken, scratchLaunchTags } from '../shared/domain/scratch';
import { InvalidInputError } from '../shared/errors';
import type { Clock, ClusterDirectory, ScratchFleet } from '../shared/ports';

export interface ScratchDeps {
  clusters: ClusterDirectory;
  fleet: ScratchFleet;
  clock: Clock;
}

/**
 * Launches the scratch instance a restore is verified on, from the cluster's launch template,
 * tagged as scratch with an expiry the janitor enforces whatever happens to this execution.
 * @throws ClusterNotFoundError, InvalidInputError when the cluster has no restoreVerify settings
 */
export async function launchScratch(input: { cluster: string; executionId: string }, deps: ScratchDeps) {
  const cluster = await deps.clusters.get(input.cluster);
  const rv = cluster.restoreVerify;
  if (!rv) {
    throw new InvalidInputError(
      `cluster ${cluster.name} has no restoreVerify settings (launchTemplate) in its configuration`,
    );
  }
  const expiresAt = new Date(deps.clock.now().getTime() + rv.scratchTtlMinutes * 60_000);
  const { instanceId } = await deps.fleet.launch({
    cluster: cluster.name,
    launchTemplate: rv.launchTemplate,
    launchTemplateVersion: rv.launchTemplateVersion,
    subnetId: rv.subnetId,
    instanceType: rv.instanceType,
    tags: scratchLaunchTags(cluster.name, input.executionId, expiresAt),
    // one execution, one scratch instance, however often this step is retried
    clientToken: scratchClientToken(input.executionId),
  });
  return { instanceId, expiresAt: expiresAt.toISOString() };
}
