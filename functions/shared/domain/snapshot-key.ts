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

const KEY =
  /^([a-z0-9-]+)\/etcd\/(\d{4})\/(\d{2})\/(\d{2})\/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-r(\d+)\.db$/;

export function snapshotPrefix(cluster: string): string {
  return `${cluster}/etcd/`;
}

/** @returns undefined for anything that is not a snapshot object (manifests, strays) */
export function parseSnapshotKey(key: string): SnapshotRef | undefined {
  const m = KEY.exec(key);
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
