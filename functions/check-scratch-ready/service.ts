import { scratchTags } from '../shared/domain/scratch';
import { ScratchNotReadyError } from '../shared/errors';
import type { Inventory } from '../shared/ports';

/**
 * Is the scratch instance running and SSM Online? The state machine retries
 * ScratchNotReadyError on an interval and gives up after its last attempt.
 * @throws ScratchNotReadyError
 */
export async function checkScratchReady(
  input: { cluster: string; instanceId: string },
  deps: { inventory: Inventory },
) {
  const online = await deps.inventory.findManagedInstances(scratchTags(input.cluster));
  if (!online.some((x) => x.instanceId === input.instanceId)) {
    throw new ScratchNotReadyError(`scratch instance ${input.instanceId} is not running with SSM Online yet`);
  }
  return { ready: true };
}
