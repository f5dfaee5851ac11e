/**
 * The storage layout: `<cluster>/etcd/<yyyy>/<mm>/<dd>/<yyyymmddThhmmssZ>-r<revision>.db`, with the
 * manifest beside it as `.json`. The node script writes it; everything else reads it from here.
 */

export interface SnapshotRef {
  key: string;
  cluster: string;
  takenAt: Date;
  revision: number;
}

/** a revision has at most 19 digits (int64); etcd-restore-verify's Key parameter allows no more */
export const REVISION_MAX_DIGITS = 19;

/**
 * A snapshot key, as one pattern: the etcd-restore-verify document's `Key.allowedPattern` is this
 * exact string (a test compares them), so a key the domain accepts is a key SSM accepts.
 */
export const SNAPSHOT_KEY_PATTERN =
  '^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?/etcd/[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{8}T[0-9]{6}Z' +
  `-r[0-9]{1,${REVISION_MAX_DIGITS}}\\.db$`;
const KEY_SHAPE = new RegExp(SNAPSHOT_KEY_PATTERN);

/** the parts of a key that already has the shape above */
const KEY_PARTS =
  /^([a-z0-9-]+)\/etcd\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-r(\d+)\.db$/;

export function snapshotPrefix(cluster: string): string {
  return `${cluster}/etcd/`;
}

/** @returns undefined for anything that is not a snapshot object (manifests, strays) */
export function parseSnapshotKey(key: string): SnapshotRef | undefined {
  const m = KEY_SHAPE.test(key) ? KEY_PARTS.exec(key) : null;
  if (!m) return undefined;
  const [, cluster, y, mo, d, y2, mo2, d2, h, mi, s, rev] = m as unknown as string[];
  if (y !== y2 || mo !== mo2 || d !== d2) return undefined;
  const takenAt = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
  if (Number.isNaN(takenAt.getTime())) return undefined;
  return { key, cluster: cluster!, takenAt, revision: Number(rev) };
}

export function manifestKeyFor(snapshotKey: string): string {
  return snapshotKey.replace(/\.db$/, '.json');
}
