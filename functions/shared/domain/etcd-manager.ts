/**
 * kops' etcd-manager and its own backups, as its source lays them out (checked against
 * kubernetes-sigs/etcd-manager pkg/backup/{store,vfs}.go and pkg/etcd/backup.go, and kops'
 * pkg/model/components/etcdmanager/model.go):
 *
 * - the backup store of etcd cluster `main` (`events`) is `<state store>/<kops cluster>/backups/etcd/main`;
 * - each backup is a directory named `<RFC 3339 UTC time>-<6-digit sequence>`
 *   (`2026-11-30T13:00:00Z-000042`) holding `etcd.backup.gz` (the gzipped `snapshot save` file) and
 *   `_etcd_backup.meta`, the BackupInfo as protobuf JSON (`etcdVersion`, `timestamp` as a string,
 *   `clusterSpec {memberCount, etcdVersion}`), written after the data: etcd-manager lists a backup
 *   only once its meta file exists, and so does Caretaker;
 * - etcd-manager deletes old backups itself (ETCD_MANAGER_DAILY_BACKUPS_RETENTION); Caretaker only
 *   reads there and keeps its verdicts in its own bucket (see {@link etcdManagerVerificationKey}).
 */

export const ETCD_MANAGER_CLUSTERS = ['main', 'events'] as const;
export type EtcdManagerCluster = (typeof ETCD_MANAGER_CLUSTERS)[number];

export const ETCD_MANAGER_DATA_FILE = 'etcd.backup.gz';
export const ETCD_MANAGER_META_FILE = '_etcd_backup.meta';

/** `s3://bucket[/prefix]` as kops' KOPS_STATE_STORE names it */
export interface StateStore {
  bucket: string;
  /** without leading or trailing slash; '' for the bucket's root */
  prefix: string;
}

/** where a kops cluster keeps its state: the store and the cluster's name in it */
export interface KopsSettings {
  stateStore: StateStore;
  /** kops' cluster name (an FQDN such as k8s.example.com): the state store's top-level directory */
  clusterName: string;
}

export const STATE_STORE_PATTERN = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])(\/[A-Za-z0-9._-]+)*\/?$/;

/** @returns undefined for anything that is not `s3://bucket[/prefix]` */
export function parseStateStore(url: string): StateStore | undefined {
  const m = STATE_STORE_PATTERN.exec(url);
  if (!m) return undefined;
  const prefix = url.slice(`s3://${m[1]}`.length).replace(/^\/+|\/+$/g, '');
  return { bucket: m[1]!, prefix };
}

/** `<prefix>/<kops cluster>/backups/etcd/<cluster>/`: what etcd-manager's backup store lists */
export function etcdManagerBackupsPrefix(kops: KopsSettings, cluster: EtcdManagerCluster): string {
  const base = kops.stateStore.prefix ? `${kops.stateStore.prefix}/` : '';
  return `${base}${kops.clusterName}/backups/etcd/${cluster}/`;
}

/** the backup name etcd-manager gives: time.Now().UTC().Format(time.RFC3339) + "-" + %.6d */
const NAME = '[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z-[0-9]{6}';

/**
 * An etcd-manager backup's data key, as one pattern (the body without anchors): part of
 * etcd-restore-verify's `Key.allowedPattern`.
 */
export const ETCD_MANAGER_KEY_BODY = `([A-Za-z0-9._-]+/){1,8}backups/etcd/(main|events)/${NAME}/etcd\\.backup\\.gz`;
const KEY_SHAPE = new RegExp(`^${ETCD_MANAGER_KEY_BODY}$`);
const KEY_PARTS = new RegExp(
  `^(.*)/backups/etcd/(main|events)/((\\d{4})-(\\d{2})-(\\d{2})T(\\d{2}):(\\d{2}):(\\d{2})Z-\\d{6})/etcd\\.backup\\.gz$`,
);

export interface EtcdManagerBackupRef {
  /** the data object: `…/backups/etcd/main/<name>/etcd.backup.gz` */
  key: string;
  /** `…/<name>/_etcd_backup.meta` */
  metaKey: string;
  /** `<prefix>/<kops cluster>`: the part before /backups/ */
  base: string;
  cluster: EtcdManagerCluster;
  /** `2026-11-30T13:00:00Z-000042` */
  name: string;
  takenAt: Date;
}

/** @returns undefined for anything that is not an etcd-manager backup's data key */
export function parseEtcdManagerKey(key: string): EtcdManagerBackupRef | undefined {
  const m = KEY_SHAPE.test(key) ? KEY_PARTS.exec(key) : null;
  if (!m) return undefined;
  const [, base, cluster, name, y, mo, d, h, mi, s] = m as unknown as string[];
  const takenAt = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
  if (Number.isNaN(takenAt.getTime())) return undefined;
  const dir = key.slice(0, -ETCD_MANAGER_DATA_FILE.length);
  return {
    key,
    metaKey: `${dir}${ETCD_MANAGER_META_FILE}`,
    base: base!,
    cluster: cluster as EtcdManagerCluster,
    name: name!,
    takenAt,
  };
}

/** is `key` one of this kops cluster's backups (main or events)? */
export function isBackupOf(ref: EtcdManagerBackupRef, kops: KopsSettings): boolean {
  return ETCD_MANAGER_CLUSTERS.some(
    (c) => `${ref.base}/backups/etcd/${c}/` === etcdManagerBackupsPrefix(kops, c),
  );
}

/**
 * The backups a listing of {@link etcdManagerBackupsPrefix} shows, as etcd-manager's own
 * ListBackups sees them: a directory counts once its meta file is there. Newest first.
 */
export function listedBackups(keys: readonly string[]): EtcdManagerBackupRef[] {
  return keys
    .filter((k) => k.endsWith(`/${ETCD_MANAGER_META_FILE}`))
    .map((k) => parseEtcdManagerKey(`${k.slice(0, -ETCD_MANAGER_META_FILE.length)}${ETCD_MANAGER_DATA_FILE}`))
    .filter((r): r is EtcdManagerBackupRef => r !== undefined)
    .sort((a, b) => (a.name < b.name ? 1 : a.name > b.name ? -1 : 0));
}

/**
 * Where Caretaker records its verdict on an etcd-manager backup: in Caretaker's own bucket,
 * `<cluster>/etcd-manager/<main|events>/<name>.verification.json`. Never in the state store: the
 * functions and scratch instances may only read there, the state store also holds the cluster's
 * secrets and configuration (write access there is a kops admin's), and etcd-manager's retention
 * removes whole backup directories, so anything put beside its objects would be deleted by it or
 * would have to be deleted by Caretaker.
 */
export function etcdManagerVerificationKey(cluster: string, ref: EtcdManagerBackupRef): string {
  return `${cluster}/etcd-manager/${ref.cluster}/${ref.name}.verification.json`;
}

/** the backup a {@link etcdManagerVerificationKey} judged: its etcd cluster, name and time; undefined otherwise */
export function parseEtcdManagerVerificationKey(
  key: string,
): { cluster: EtcdManagerCluster; name: string; takenAt: Date } | undefined {
  const m =
    /\/etcd-manager\/(main|events)\/((\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z)-\d{6})\.verification\.json$/.exec(
      key,
    );
  if (!m) return undefined;
  const takenAt = new Date(m[3]!);
  return Number.isNaN(takenAt.getTime())
    ? undefined
    : { cluster: m[1] as EtcdManagerCluster, name: m[2]!, takenAt };
}

/** the prefix under which {@link etcdManagerVerificationKey} writes */
export function etcdManagerVerificationPrefix(cluster: string): string {
  return `${cluster}/etcd-manager/`;
}
