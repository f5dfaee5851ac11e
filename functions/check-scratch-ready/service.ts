import { SCRATCH_READY_MAX_CHECKS, scratchTags } from '../shared/domain/scratch';
import { ScratchGoneError } from '../shared/errors';
import type { Inventory, ScratchFleet } from '../shared/ports';

/** EC2 states a scratch instance comes back from: it is booting or up */
const ALIVE = new Set(['pending', 'running']);

/**
 * Is the scratch instance running and SSM Online? Not yet is an answer, not an error: the state
 * machine waits and asks again. `checks` counts the checks made so far (kept in the execution's
 * state); the deadline has passed when this one is the SCRATCH_READY_MAX_CHECKS-th and it is still
 * not ready. EC2 may not list a new instance for a few seconds, so an unlisted instance is gone
 * only from the second check on.
 * @throws ScratchGoneError when the instance is terminated, stopping or stopped: it never will be ready
 */
export async function checkScratchReady(
  input: { cluster: string; instanceId: string; checks?: number },
  deps: { inventory: Inventory; fleet: ScratchFleet },
) {
  const checks = (input.checks ?? 0) + 1;
  const instance = (await deps.fleet.listScratch()).find((i) => i.instanceId === input.instanceId);
  if (instance ? !ALIVE.has(instance.state) : checks > 1) {
    throw new ScratchGoneError(
      `scratch instance ${input.instanceId} is ${instance?.state ?? 'terminated (EC2 no longer lists it)'}; it will not come Online`,
    );
  }
  const online = await deps.inventory.findManagedInstances(scratchTags(input.cluster));
  const ready = online.some((x) => x.instanceId === input.instanceId);
  const deadlineExpired = !ready && checks >= SCRATCH_READY_MAX_CHECKS;
  const reason = ready
    ? ''
    : `scratch instance ${input.instanceId} is ${instance?.state ?? 'not listed yet'} but not Online in SSM after ${checks} check(s)`;
  return { ready, deadlineExpired, checks, reason };
}
