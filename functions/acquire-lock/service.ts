import type { Clock, LockStore } from '../shared/ports';

export interface LockDeps {
  locks: LockStore;
  clock: Clock;
}

/** takes the cluster's operation lease, or says who holds it; never waits */
export async function acquireLock(
  input: { cluster: string; owner: string; operation: string; leaseSeconds: number },
  deps: LockDeps,
) {
  const now = deps.clock.now();
  const lease = {
    cluster: input.cluster,
    owner: input.owner,
    operation: input.operation,
    acquiredAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + input.leaseSeconds * 1000).toISOString(),
  };
  const result = await deps.locks.acquire(lease);
  if (result.acquired) return { acquired: true as const, owner: lease.owner, expiresAt: lease.expiresAt };
  const { owner, operation, acquiredAt, expiresAt } = result.heldBy;
  return { acquired: false as const, heldBy: { owner, operation, acquiredAt, expiresAt } };
}

/** releases the lease if it is still ours; releasing twice, or after a takeover, is harmless */
export async function releaseLock(input: { cluster: string; owner: string }, deps: Pick<LockDeps, 'locks'>) {
  return { released: await deps.locks.release(input.cluster, input.owner) };
}
