/**
 * Small stand-ins for the Lambdas the workflows call, shaped as in docs/contracts.md. They keep
 * state in memory so a test can assert on the world after the run (is the lock free again?).
 */
import type { Fake, Json, JsonObject } from '../../sandbox/asl-runner';

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

/** the operation lock of acquire-lock / release-lock, in memory, with the same rules as the table */
export class InMemoryLock {
  private readonly leases = new Map<string, Lease>();

  constructor(private readonly now: () => Date = () => new Date('2026-11-25T06:00:00Z')) {}

  /** another operation holds the cluster (arrange a "lock held" case) */
  hold(cluster: string, lease: Lease): void {
    this.leases.set(cluster, lease);
  }

  holder(cluster: string): Lease | undefined {
    return this.leases.get(cluster);
  }

  /** acquire-lock: free, expired or already ours → taken; otherwise who holds it */
  readonly acquire: Fake = (input): Json => {
    const { cluster, owner, operation, leaseSeconds } = obj(input);
    const current = this.leases.get(String(cluster));
    const at = this.now();
    if (current && current.owner !== owner && Date.parse(current.expiresAt) > at.getTime()) {
      return { acquired: false, heldBy: { ...current } };
    }
    const lease: Lease = {
      owner: String(owner),
      operation: String(operation),
      acquiredAt: at.toISOString(),
      expiresAt: new Date(at.getTime() + Number(leaseSeconds) * 1000).toISOString(),
    };
    this.leases.set(String(cluster), lease);
    return { acquired: true, owner: lease.owner, expiresAt: lease.expiresAt };
  };

  /** release-lock: only our own lease; false when it is not ours (any more) */
  readonly release: Fake = (input): Json => {
    const { cluster, owner } = obj(input);
    const current = this.leases.get(String(cluster));
    if (!current || current.owner !== owner) return { released: false };
    this.leases.delete(String(cluster));
    return { released: true };
  };
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
