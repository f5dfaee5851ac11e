import {
  manifestKeyFor,
  parseAnySnapshotKey,
  parseSnapshotKey,
  snapshotPrefix,
  type SnapshotRef,
  type SnapshotSeries,
} from '../shared/domain/snapshot-key';
import {
  etcdManagerBackupsPrefix,
  etcdManagerVerificationKey,
  etcdManagerVerificationPrefix,
  isBackupOf,
  listedBackups,
  parseEtcdManagerKey,
  parseEtcdManagerVerificationKey,
  type EtcdManagerBackupRef,
  type EtcdManagerCluster,
} from '../shared/domain/etcd-manager';
import type { ClusterConfig } from '../shared/domain/config';
import { InvalidInputError } from '../shared/errors';
import type { Clock, ClusterDirectory, SnapshotStore, StateStores } from '../shared/ports';
import { VERIFIED_TAG, verificationReportKey } from '../shared/domain/verification';

export interface PickSnapshotDeps {
  clusters: ClusterDirectory;
  store: SnapshotStore;
  clock: Clock;
  /** kops with backup.source etcd-manager: the state store, read only */
  stateStores?: StateStores;
}

/**
 * The snapshot to verify: the one asked for, or the newest snapshot if no verification has
 * judged it yet. Verifying an older one when a newer exists proves less about what a restore
 * would bring back today. With `backup.source: etcd-manager` (kops) the snapshots are
 * etcd-manager's own backups of the main cluster in the kops state store.
 * @throws ClusterNotFoundError, InvalidInputError for a given key that is not this cluster's snapshot
 */
export async function pickSnapshot(input: { cluster: string; key?: string }, deps: PickSnapshotDeps) {
  const givenBackup = input.key === undefined ? undefined : parseEtcdManagerKey(input.key);
  if (givenBackup) return pickEtcdManagerBackup(input.cluster, givenBackup, deps);
  // a given key is checked before any AWS call: a bad one costs no Parameter Store read
  const given = input.key === undefined ? undefined : parseAnySnapshotKey(input.key);
  if (input.key !== undefined && (!given || given.cluster !== input.cluster)) {
    throw new InvalidInputError(`key: "${input.key}" is not a snapshot key of cluster ${input.cluster}`);
  }
  const cluster = await deps.clusters.get(input.cluster);
  if (!given && cluster.backup.source === 'etcd-manager')
    return pickEtcdManagerBackup(input.cluster, undefined, deps, cluster);
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
  // kops' events series too when Caretaker takes it (etcd.events): each series is listed and
  // judged on its own, and each run verifies one series' newest snapshot not judged yet
  const series: SnapshotSeries[] = cluster.etcd?.events ? ['main', 'events'] : ['main'];
  const why: string[] = [];
  const candidates: { ref: SnapshotRef; lastJudged: number }[] = [];
  for (const s of series) {
    const objects = await deps.store.list(snapshotPrefix(cluster.name, s));
    const keys = new Set(objects.map((o) => o.key));
    const refs = objects
      .map((o) => parseSnapshotKey(o.key, s))
      .filter((r): r is SnapshotRef => r !== undefined && r.cluster === cluster.name)
      .sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime());
    const newest = refs[0];
    const label = s === 'main' ? 'snapshot' : 'events snapshot';
    if (!newest) {
      why.push(`cluster ${cluster.name} has no ${label} yet`);
      continue;
    }
    const judged = (await deps.store.getTags(newest.key))[VERIFIED_TAG];
    if (judged !== undefined) {
      why.push(`the newest ${label} ${newest.key} was already verified (${VERIFIED_TAG}=${judged})`);
      continue;
    }
    // when this series was last judged: its newest snapshot with a report beside it (same listing)
    const last = refs.find((r) => keys.has(verificationReportKey(r.key)));
    candidates.push({ ref: newest, lastJudged: last?.takenAt.getTime() ?? 0 });
  }
  // the series judged longest ago first (main on a tie): with hourly backups and daily
  // verification main always has a new snapshot, and "main first" would never reach events
  const next = candidates.sort((a, b) => a.lastJudged - b.lastJudged)[0];
  return next ? found(next.ref) : { found: false as const, reason: why.join('; ') };
}

/**
 * etcd-manager's newest backup of the main cluster (or the one given) that no verification has
 * judged yet; judged = Caretaker's verification record for it exists in Caretaker's own bucket.
 * Reads the state store only: a listing and heads.
 */
async function pickEtcdManagerBackup(
  name: string,
  given: EtcdManagerBackupRef | undefined,
  deps: PickSnapshotDeps,
  known?: ClusterConfig,
) {
  const cluster = known ?? (await deps.clusters.get(name));
  if (!cluster.kops) {
    throw new InvalidInputError(
      `cluster ${name} has no kops.stateStore: Caretaker cannot read etcd-manager's backups without it`,
    );
  }
  if (!deps.stateStores) throw new Error('pick-snapshot was built without a state store reader');
  const reader = deps.stateStores(cluster.kops.stateStore.bucket);
  let ref = given;
  if (ref) {
    if (!isBackupOf(ref, cluster.kops)) {
      throw new InvalidInputError(`key: "${ref.key}" is not an etcd-manager backup of cluster ${name}`);
    }
    if (!(await reader.head(ref.metaKey))) {
      throw new InvalidInputError(`key: ${ref.key} is no complete etcd-manager backup (no ${ref.metaKey})`);
    }
  } else {
    // the events cluster's backups too when etcd.events opts in (its own series, judged by its
    // own records): each run verifies one series' newest backup not judged yet
    const series: EtcdManagerCluster[] = cluster.etcd?.events ? ['main', 'events'] : ['main'];
    const why: string[] = [];
    const candidates: { ref: EtcdManagerBackupRef; lastJudged: number }[] = [];
    for (const etcdCluster of series) {
      const prefix = etcdManagerBackupsPrefix(cluster.kops, etcdCluster);
      const newest = listedBackups((await reader.list(prefix)).map((o) => o.key))[0];
      if (!newest) {
        why.push(
          `etcd-manager has written no backup under s3://${cluster.kops.stateStore.bucket}/${prefix} yet`,
        );
        continue;
      }
      const record = etcdManagerVerificationKey(name, newest);
      if (await deps.store.head(record)) {
        why.push(
          `etcd-manager's newest ${etcdCluster} backup ${newest.name} was already verified (see ${record})`,
        );
        continue;
      }
      // when this series was last judged: the newest of Caretaker's records for it
      const records = await deps.store.list(`${etcdManagerVerificationPrefix(name)}${etcdCluster}/`);
      const lastJudged = Math.max(
        0,
        ...records.map((o) => parseEtcdManagerVerificationKey(o.key)?.takenAt.getTime() ?? 0),
      );
      candidates.push({ ref: newest, lastJudged });
    }
    // the series judged longest ago first (main on a tie): etcd-manager backs main up every 15
    // minutes, so "main first" would never reach events
    ref = candidates.sort((a, b) => a.lastJudged - b.lastJudged)[0]?.ref;
    if (!ref) return { found: false as const, reason: why.join('; ') };
  }
  const now = deps.clock.now();
  return {
    found: true as const,
    key: ref.key,
    manifestKey: ref.metaKey,
    takenAt: ref.takenAt.toISOString(),
    ageSeconds: Math.round((now.getTime() - ref.takenAt.getTime()) / 1000),
    source: 'etcd-manager' as const,
  };
}
