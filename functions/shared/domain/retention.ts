import type { Retention } from './config';
import type { SnapshotRef } from './snapshot-key';

export interface RetentionPlan {
  keep: { key: string; reasons: string[] }[];
  delete: string[];
  /** why nothing could be deleted, when that is the case */
  note?: string;
}

type Bucket = 'hourly' | 'daily' | 'weekly' | 'monthly';

const pad = (n: number) => String(n).padStart(2, '0');

/** ISO-8601 week, so a week bucket does not split at a month or year boundary */
function isoWeek(d: Date): string {
  const t = new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate()));
  const day = t.getUTCDay() || 7;
  t.setUTCDate(t.getUTCDate() + 4 - day);
  const yearStart = Date.UTC(t.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((t.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${t.getUTCFullYear()}-W${pad(week)}`;
}

const BUCKET_OF: Record<Bucket, (d: Date) => string> = {
  hourly: (d) => d.toISOString().slice(0, 13),
  daily: (d) => d.toISOString().slice(0, 10),
  weekly: isoWeek,
  monthly: (d) => d.toISOString().slice(0, 7),
};

/** newest first; ties broken by key so the plan does not depend on listing order */
function newestFirst(a: SnapshotRef, b: SnapshotRef): number {
  return b.takenAt.getTime() - a.takenAt.getTime() || (a.key < b.key ? 1 : a.key > b.key ? -1 : 0);
}

/**
 * Decides which snapshots to keep: the last `keepLast`, plus the newest snapshot in each of the
 * most recent N hourly/daily/weekly/monthly buckets (UTC). The newest verified snapshot and
 * everything newer than it are always kept; with no verified snapshot at all nothing is deleted,
 * because nothing is known to restore.
 */
export function planRetention(
  snapshots: readonly SnapshotRef[],
  newestVerifiedKey: string | null,
  policy: Retention,
): RetentionPlan {
  const unique = new Map(snapshots.map((s) => [s.key, s]));
  const sorted = [...unique.values()].sort(newestFirst);
  const reasons = new Map<string, string[]>(sorted.map((s) => [s.key, []]));
  const mark = (key: string, reason: string) => reasons.get(key)!.push(reason);

  sorted.slice(0, policy.keepLast).forEach((s, i) => mark(s.key, `keep-last ${i + 1}/${policy.keepLast}`));

  for (const bucket of ['hourly', 'daily', 'weekly', 'monthly'] as const) {
    const limit = policy[bucket];
    const seen = new Set<string>();
    for (const s of sorted) {
      if (seen.size >= limit) break;
      const id = BUCKET_OF[bucket](s.takenAt);
      if (seen.has(id)) continue;
      seen.add(id);
      mark(s.key, `${bucket} ${id}`);
    }
  }

  let note: string | undefined;
  const verified = newestVerifiedKey === null ? undefined : sorted.find((s) => s.key === newestVerifiedKey);
  if (!verified) {
    note =
      newestVerifiedKey === null
        ? 'no snapshot has been verified by a restore yet, so none is deleted'
        : `the newest verified snapshot ${newestVerifiedKey} is not among the listed snapshots, so none is deleted`;
    for (const s of sorted) mark(s.key, 'protected: no verified snapshot');
  } else {
    for (const s of sorted) {
      if (newestFirst(s, verified) > 0) break;
      mark(s.key, s.key === verified.key ? 'newest verified' : 'newer than the newest verified');
    }
  }

  const keep: RetentionPlan['keep'] = [];
  const del: string[] = [];
  for (const s of sorted) {
    const r = reasons.get(s.key)!;
    if (r.length > 0) keep.push({ key: s.key, reasons: r });
    else del.push(s.key);
  }
  return note ? { keep, delete: del, note } : { keep, delete: del };
}
