/**
 * The storage layout: `<cluster>/etcd/<yyyy>/<mm>/<dd>/<yyyymmddThhmmssZ>-r<revision>.db`, with the
 * manifest beside it as `.json`. The node script writes it; everything else reads it from here.
 *
 * kops' events etcd (`etcd.events: true` with `backup.source: caretaker`) is a second series of its
 * own under `<cluster>/etcd/events/<yyyy>/...`: inside `<cluster>/etcd/`, so the node, scratch and
 * function grants on that prefix cover it unchanged, and never parsed as the main series (the
 * main series' next segment is a four-digit year). Each series is listed, picked, pruned and
 * judged on its own; {@link parseSnapshotKey} returns only keys of the series asked for.
 */

/** main: the API server's etcd; events: kops' etcd-manager-events (kube-apiserver's /events override) */
export const SNAPSHOT_SERIES = ['main', 'events'] as const;
export type SnapshotSeries = (typeof SNAPSHOT_SERIES)[number];

export interface SnapshotRef {
  key: string;
  cluster: string;
  series: SnapshotSeries;
  takenAt: Date;
  revision: number;
}

/** a revision has at most 19 digits (int64); etcd-restore-verify's Key parameter allows no more */
export const REVISION_MAX_DIGITS = 19;

/**
 * A snapshot key of either series, as one pattern: the etcd-restore-verify document's
 * `Key.allowedPattern` is built from this exact string (a test compares them), so a key the
 * domain accepts is a key SSM accepts.
 */
export const SNAPSHOT_KEY_PATTERN =
  '^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?/etcd/(events/)?[0-9]{4}/[0-9]{2}/[0-9]{2}/[0-9]{8}T[0-9]{6}Z' +
  `-r[0-9]{1,${REVISION_MAX_DIGITS}}\\.db$`;
const KEY_SHAPE = new RegExp(SNAPSHOT_KEY_PATTERN);

/** the parts of a key that already has the shape above */
const KEY_PARTS =
  /^([a-z0-9-]+)\/etcd\/(events\/)?(\d{4})\/(\d{2})\/(\d{2})\/(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-r(\d+)\.db$/;

/** where a series' snapshots are listed: `<cluster>/etcd/` (main) or `<cluster>/etcd/events/` */
export function snapshotPrefix(cluster: string, series: SnapshotSeries = 'main'): string {
  return series === 'main' ? `${cluster}/etcd/` : `${cluster}/etcd/events/`;
}

/**
 * @param series the series the caller works on: a key of the other series is no snapshot to it
 *   (the main listing under `<cluster>/etcd/` also shows the events series' keys)
 * @returns undefined for anything that is not a snapshot object of that series (manifests, strays)
 */
export function parseSnapshotKey(key: string, series: SnapshotSeries = 'main'): SnapshotRef | undefined {
  const ref = parseAnySnapshotKey(key);
  return ref?.series === series ? ref : undefined;
}

/** a snapshot key of either series, with the series it belongs to; undefined for anything else */
export function parseAnySnapshotKey(key: string): SnapshotRef | undefined {
  const m = KEY_SHAPE.test(key) ? KEY_PARTS.exec(key) : null;
  if (!m) return undefined;
  const [, cluster, events, y, mo, d, y2, mo2, d2, h, mi, s, rev] = m as unknown as string[];
  if (y !== y2 || mo !== mo2 || d !== d2) return undefined;
  const takenAt = new Date(`${y}-${mo}-${d}T${h}:${mi}:${s}Z`);
  if (Number.isNaN(takenAt.getTime())) return undefined;
  return { key, cluster: cluster!, series: events ? 'events' : 'main', takenAt, revision: Number(rev) };
}

export function manifestKeyFor(snapshotKey: string): string {
  return snapshotKey.replace(/\.db$/, '.json');
}

/** the `kind` a snapshot manifest of each series carries (absent in manifests before the events series: main) */
export const MANIFEST_KINDS: Record<SnapshotSeries, string> = { main: 'etcd', events: 'etcd-events' };
