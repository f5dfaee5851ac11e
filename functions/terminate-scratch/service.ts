import { CLUSTER_TAG } from '../shared/domain/config';
import { isExpired, scratchTags } from '../shared/domain/scratch';
import type { Clock, ScratchFleet } from '../shared/ports';

/**
 * Terminates the execution's scratch instance. It only ever terminates an instance that carries
 * the cluster's scratch tags: a wrong id can never take down a cluster node.
 */
export async function terminateScratch(
  input: { cluster: string; instanceId: string },
  deps: { fleet: ScratchFleet },
) {
  const wanted = scratchTags(input.cluster);
  const match = (await deps.fleet.listScratch()).find((i) => i.instanceId === input.instanceId);
  if (!match)
    return {
      terminated: false,
      reason: `${input.instanceId} is not a live scratch instance (already gone?)`,
    };
  if (Object.entries(wanted).some(([k, v]) => match.tags[k] !== v)) {
    return {
      terminated: false,
      reason: `${input.instanceId} is not a scratch instance of ${input.cluster}; left alone`,
    };
  }
  await deps.fleet.terminate(input.instanceId);
  return { terminated: true, reason: '' };
}

/** the janitor: terminates every scratch instance past its expiry, whichever execution made it */
export async function reapScratch(deps: { fleet: ScratchFleet; clock: Clock }) {
  const now = deps.clock.now();
  const expired = (await deps.fleet.listScratch()).filter((i) => isExpired(i.tags, now));
  for (const i of expired) await deps.fleet.terminate(i.instanceId);
  return {
    terminated: expired.map((i) => ({ instanceId: i.instanceId, cluster: i.tags[CLUSTER_TAG] ?? '' })),
  };
}
