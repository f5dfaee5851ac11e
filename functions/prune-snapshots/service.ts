import { planRetention } from '../shared/domain/retention';
import {
  manifestKeyFor,
  parseSnapshotKey,
  snapshotPrefix,
  type SnapshotRef,
  type SnapshotSeries,
} from '../shared/domain/snapshot-key';
import { VERIFIED_TAG, verificationReportKey } from '../shared/domain/verification';
import type { Clock, ClusterDirectory, SnapshotStore } from '../shared/ports';

export interface PruneDeps {
  clusters: ClusterDirectory;
  store: SnapshotStore;
  clock: Clock;
}

/** walks newest first and stops at the first verified snapshot: a few tag reads, not thousands */
async function newestVerified(sorted: SnapshotRef[], store: SnapshotStore): Promise<string | null> {
  for (const s of sorted) {
    const tags = await store.getTags(s.key);
    if (tags[VERIFIED_TAG] === 'true') return s.key;
  }
  return null;
}

/**
 * Applies the cluster's retention to its snapshots, to each series on its own: the main series,
 * and (kops, `etcd.events` with Caretaker taking the backups) the events series, whose newest
 * verified snapshot is kept by the same rule. A series never counts the other's snapshots.
 * Never deletes the newest verified snapshot or anything newer; an object under Object Lock or
 * legal hold is skipped and reported.
 * @throws ClusterNotFoundError
 */
export async function pruneSnapshots(input: { cluster: string }, deps: PruneDeps) {
  const cluster = await deps.clusters.get(input.cluster);
  const main = await pruneSeries(cluster.name, 'main', cluster.backup.retention, deps);
  if (!(cluster.etcd?.events && cluster.backup.source !== 'etcd-manager')) return main;
  return { ...main, events: await pruneSeries(cluster.name, 'events', cluster.backup.retention, deps) };
}

async function pruneSeries(
  name: string,
  series: SnapshotSeries,
  retention: Parameters<typeof planRetention>[2],
  deps: PruneDeps,
) {
  const objects = await deps.store.list(snapshotPrefix(name, series));
  const refs = objects
    .map((o) => parseSnapshotKey(o.key, series))
    .filter((r): r is SnapshotRef => r !== undefined && r.cluster === name)
    .sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime());
  const verified = await newestVerified(refs, deps.store);
  const plan = planRetention(refs, verified, retention);

  const now = deps.clock.now();
  const deleted: string[] = [];
  const skippedLocked: string[] = [];
  for (const key of plan.delete) {
    const head = await deps.store.head(key);
    if (!head) continue; // already gone: another run pruned it
    if (head.legalHold || (head.lockedUntil && head.lockedUntil > now)) {
      skippedLocked.push(key);
      continue;
    }
    // report and manifest first: a snapshot without them is still listed and retried next run
    await deps.store.delete(verificationReportKey(key));
    await deps.store.delete(manifestKeyFor(key));
    await deps.store.delete(key);
    deleted.push(key);
  }
  return {
    kept: plan.keep.length,
    deleted,
    skippedLocked,
    newestVerified: verified,
    note: plan.note ?? '',
  };
}
