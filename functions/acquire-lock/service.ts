import { orderedScopes, type LockScope } from '../shared/domain/locks';
import { LeaseLostError } from '../shared/errors';
import type { Clock, Lease, LockStore } from '../shared/ports';

export interface LockDeps {
  locks: LockStore;
  clock: Clock;
}

export interface AcquireLockInput {
  cluster: string;
  /** who takes the lease: the execution */
  owner: string;
  operation: string;
  leaseSeconds: number;
  /** what the operation needs (default: every scope) */
  scopes?: LockScope[];
  /** the execution whose lease this run works under (a nested execution); nothing is taken */
  parentOwner?: string;
  /** extend the lease `owner` holds instead of taking one; fails if it is not ours any more */
  renew?: boolean;
}

const describe = (l: Lease) => `${l.operation} (${l.owner}) until ${l.expiresAt}`;

/**
 * Takes the cluster's lease on the scopes an operation needs, or says who holds it; never
 * waits. With `parentOwner`, checks that the parent holds every scope and works under its
 * lease; with `renew`, extends our own lease before the next change.
 * @throws LeaseLostError when a renewal finds the lease lapsed or held by someone else, or the
 *   parent does not hold what the child needs
 */
export async function acquireLock(input: AcquireLockInput, deps: LockDeps) {
  const now = deps.clock.now();
  const scopes = orderedScopes(input.scopes);
  const expiresAt = new Date(now.getTime() + input.leaseSeconds * 1000).toISOString();
  const request = {
    cluster: input.cluster,
    owner: input.owner,
    operation: input.operation,
    acquiredAt: now.toISOString(),
    expiresAt,
    scopes,
  };

  if (input.renew) {
    const result = await deps.locks.renew(request);
    if (!result.renewed) {
      throw new LeaseLostError(
        `the ${result.scope} lease of ${input.cluster} is no longer held by ${input.owner}: ` +
          (result.heldBy
            ? result.heldBy.owner === input.owner
              ? `it lapsed at ${result.heldBy.expiresAt}`
              : `it is held by ${describe(result.heldBy)}`
            : 'nobody holds it (it lapsed and was released)') +
          '; nothing more is changed under it',
      );
    }
    return { acquired: true as const, owner: input.owner, expiresAt };
  }

  if (input.parentOwner !== undefined) {
    const holders = await deps.locks.holders(input.cluster, scopes);
    const missing = scopes.filter((_, i) => {
      const h = holders[i];
      return !h || h.owner !== input.parentOwner || Date.parse(h.expiresAt) < now.getTime();
    });
    if (missing.length > 0) {
      const held = holders.filter((h): h is Lease => h !== undefined).map(describe);
      throw new LeaseLostError(
        `the parent ${input.parentOwner} does not hold the ${missing.join(' and ')} lease of ${input.cluster}` +
          (held.length ? ` (held: ${held.join('; ')})` : ' (free)'),
      );
    }
    const until = holders.map((h) => h!.expiresAt).sort()[0]!;
    return { acquired: true as const, owner: input.parentOwner, expiresAt: until, underParent: true };
  }

  const result = await deps.locks.acquire(request);
  if (result.acquired) return { acquired: true as const, owner: input.owner, expiresAt };
  const { owner, operation, acquiredAt, expiresAt: heldUntil, scope } = result.heldBy;
  return {
    acquired: false as const,
    heldBy: { owner, operation, acquiredAt, expiresAt: heldUntil, ...(scope && { scope }) },
  };
}

/** releases every lease the owner holds; releasing twice, after a takeover, or a parent's lease is harmless */
export async function releaseLock(input: { cluster: string; owner: string }, deps: Pick<LockDeps, 'locks'>) {
  return { released: await deps.locks.release(input.cluster, input.owner) };
}
