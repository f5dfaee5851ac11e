/**
 * Small stand-ins for the Lambdas the workflows call, shaped as in docs/contracts.md. They keep
 * state in memory so a test can assert on the world after the run (is the lock free again?).
 */
import { acquireLock, releaseLock, type AcquireLockInput } from '../../functions/acquire-lock/service';
import { LOCK_SCOPES, type LockScope } from '../../functions/shared/domain/locks';
import type { Clock } from '../../functions/shared/ports';
import type { Fake, Json, JsonObject } from '../../sandbox/asl-runner';
import { memoryLocks } from '../support/fakes';

/** the input of a fake as an object; the workflows only ever pass objects */
export function obj(input: Json): JsonObject {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) {
    throw new TypeError(`expected an object input, got ${JSON.stringify(input)}`);
  }
  return input;
}

/** a reply that never comes: lets a Task's TimeoutSeconds fire (States.Timeout) */
export const never = (): Promise<Json> => new Promise<Json>(() => undefined);

/** a type, not an interface, so it is assignable to Json */
export type Lease = {
  owner: string;
  operation: string;
  acquiredAt: string;
  expiresAt: string;
};

/**
 * acquire-lock / release-lock: the real lock service (scopes, renewal, a parent's lease) over the
 * in-memory table, so the workflow meets the same rules it meets in AWS
 */
export class InMemoryLock {
  private readonly table = memoryLocks();
  private readonly clock: Clock;

  constructor(now: () => Date = () => new Date('2026-11-25T06:00:00Z')) {
    this.clock = { now };
  }

  /** another operation holds these scopes of the cluster (default: all of them) */
  hold(cluster: string, lease: Lease, scopes: readonly LockScope[] = LOCK_SCOPES): void {
    for (const scope of scopes) this.table.leases.set(`${cluster}#${scope}`, { cluster, scope, ...lease });
  }

  /** who holds the scope now (default: control-plane), as `hold` took it */
  holder(cluster: string, scope: LockScope = 'control-plane'): Lease | undefined {
    const l = this.table.leases.get(`${cluster}#${scope}`);
    return l && { owner: l.owner, operation: l.operation, acquiredAt: l.acquiredAt, expiresAt: l.expiresAt };
  }

  readonly acquire: Fake = async (input): Promise<Json> =>
    (await acquireLock(obj(input) as unknown as AcquireLockInput, {
      locks: this.table,
      clock: this.clock,
    })) as unknown as Json;

  readonly release: Fake = async (input): Promise<Json> =>
    (await releaseLock(obj(input) as unknown as { cluster: string; owner: string }, {
      locks: this.table,
    })) as Json;
}

/** publish-outcome: remembers what was published */
export class OutcomeRecorder {
  readonly published: JsonObject[] = [];

  readonly publish: Fake = (input) => {
    const o = obj(input);
    this.published.push(o);
    return {
      published: true,
      subject: `[${String(o['outcome'])}] ${String(o['workflow'])} ${String(o['cluster'])}`,
    };
  };
}
