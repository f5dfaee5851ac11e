import {
  manifestKeyFor,
  parseSnapshotKey,
  snapshotPrefix,
  type SnapshotRef,
} from '../shared/domain/snapshot-key';
import { InvalidInputError } from '../shared/errors';
import type { Clock, ClusterDirectory, SnapshotStore } from '../shared/ports';
import { VERIFIED_TAG } from '../shared/domain/verification';

export interface PickSnapshotDeps {
  clusters: ClusterDirectory;
  store: SnapshotStore;
  clock: Clock;
}

/**
 * The snapshot to verify: the one asked for, or the newest snapshot if no verification has
 * judged it yet. Verifying an older one when a newer exists proves less about what a restore
 * would bring back today.
 * @throws ClusterNotFoundError, InvalidInputError for a given key that is not this cluster's snapshot
 */
export async function pickSnapshot(input: { cluster: string; key?: string }, deps: PickSnapshotDeps) {
  // a given key is checked before any AWS call: a bad one costs no Parameter Store read
  const given = input.key === undefined ? undefined : parseSnapshotKey(input.key);
  if (input.key !== undefined && (!given || given.cluster !== input.cluster)) {
    throw new InvalidInputError(`key: "${input.key}" is not a snapshot key of cluster ${input.cluster}`);
  }
  const cluster = await deps.clusters.get(input.cluster);
  const now = deps.clock.now();
  const found = (ref: SnapshotRef) => ({
    found: true as const,
    key: ref.key,
    manifestKey: manifestKeyFor(ref.key),
    takenAt: ref.takenAt.toISOString(),
    ageSeconds: Math.round((now.getTime() - ref.takenAt.getTime()) / 1000),
  });
  if (given) {
    if (!(await deps.store.head(given.key))) throw new InvalidInputError(`key: ${given.key} does not exist`);
    return found(given);
  }
  const newest = (await deps.store.list(snapshotPrefix(cluster.name)))
    .map((o) => parseSnapshotKey(o.key))
    .filter((r): r is SnapshotRef => r !== undefined && r.cluster === cluster.name)
    .sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime())[0];
  if (!newest) return { found: false as const, reason: `cluster ${cluster.name} has no snapshot yet` };
  const judged = (await deps.store.getTags(newest.key))[VERIFIED_TAG];
  if (judged !== undefined) {
    return {
      found: false as const,
      reason: `the newest snapshot ${newest.key} was already verified (${VERIFIED_TAG}=${judged})`,
    };
  }
  return found(newest);
}
