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
  const cluster = await deps.clusters.get(input.cluster);
  const now = deps.clock.now();
  const found = (ref: SnapshotRef) => ({
    found: true as const,
    key: ref.key,
    manifestKey: manifestKeyFor(ref.key),
    takenAt: ref.takenAt.toISOString(),
    ageSeconds: Math.round((now.getTime() - ref.takenAt.getTime()) / 1000),
  });
  if (input.key !== undefined) {
    const ref = parseSnapshotKey(input.key);
    if (!ref || ref.cluster !== cluster.name) {
      throw new InvalidInputError(`key: "${input.key}" is not a snapshot key of cluster ${cluster.name}`);
    }
    if (!(await deps.store.head(ref.key))) throw new InvalidInputError(`key: ${ref.key} does not exist`);
    return found(ref);
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
