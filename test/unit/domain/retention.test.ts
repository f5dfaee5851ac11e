import fc from 'fast-check';
import type { Retention } from '../../../functions/shared/domain/config';
import { planRetention } from '../../../functions/shared/domain/retention';
import { parseSnapshotKey, type SnapshotRef } from '../../../functions/shared/domain/snapshot-key';

const none: Retention = { keepLast: 0, hourly: 0, daily: 0, weekly: 0, monthly: 0 };

function snap(iso: string, rev = 1): SnapshotRef {
  const d = new Date(iso);
  const stamp = d
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const key = `prod/etcd/${stamp.slice(0, 4)}/${stamp.slice(4, 6)}/${stamp.slice(6, 8)}/${stamp}-r${rev}.db`;
  return parseSnapshotKey(key)!;
}

/** hourly snapshots going back `n` hours from a fixed time */
function hourlySeries(n: number): SnapshotRef[] {
  const end = Date.parse('2026-11-25T06:00:00Z');
  return Array.from({ length: n }, (_, i) => snap(new Date(end - i * 3_600_000).toISOString(), 1000 + n - i));
}

describe('planRetention', () => {
  it('keeps the last N and deletes the rest once the newest is verified', () => {
    const s = hourlySeries(10);
    const plan = planRetention(s, s[0]!.key, { ...none, keepLast: 3 });
    expect(plan.keep.map((k) => k.key)).toEqual(s.slice(0, 3).map((x) => x.key));
    expect(plan.delete).toEqual(s.slice(3).map((x) => x.key));
  });

  it('keeps the newest snapshot of each of the last N days', () => {
    const s = hourlySeries(24 * 4); // four days of hourly snapshots
    const plan = planRetention(s, s[0]!.key, { ...none, daily: 3 });
    // the newest of the 25th, 24th and 23rd
    expect(plan.keep.map((k) => s.find((x) => x.key === k.key)!.takenAt.toISOString())).toEqual([
      '2026-11-25T06:00:00.000Z',
      '2026-11-24T23:00:00.000Z',
      '2026-11-23T23:00:00.000Z',
    ]);
  });

  it('keeps weekly buckets by ISO week across a year boundary', () => {
    const s = [
      snap('2027-01-03T12:00:00Z', 3),
      snap('2026-12-29T12:00:00Z', 2),
      snap('2026-12-27T12:00:00Z', 1),
    ];
    // 2027-01-03 (Sunday) and 2026-12-29 (Tuesday) are both in ISO week 2026-W53
    const plan = planRetention(s, s[0]!.key, { ...none, weekly: 2 });
    expect(plan.keep.map((k) => k.key)).toEqual([s[0]!.key, s[2]!.key]);
    expect(plan.keep[0]!.reasons).toContain('weekly 2026-W53');
  });

  it('never deletes the newest verified snapshot nor anything newer than it', () => {
    const s = hourlySeries(10);
    const plan = planRetention(s, s[6]!.key, { ...none, keepLast: 1 });
    expect(plan.keep.map((k) => k.key)).toEqual(s.slice(0, 7).map((x) => x.key));
    expect(plan.keep.find((k) => k.key === s[6]!.key)!.reasons).toContain('newest verified');
  });

  it('deletes nothing when no snapshot has been verified, and says why', () => {
    const s = hourlySeries(5);
    const plan = planRetention(s, null, none);
    expect(plan.delete).toEqual([]);
    expect(plan.note).toMatch(/no snapshot has been verified/);
  });

  it('deletes nothing when the verified key is not among the listed snapshots', () => {
    const s = hourlySeries(5);
    const plan = planRetention(s, 'prod/etcd/2020/01/01/20200101T000000Z-r1.db', none);
    expect(plan.delete).toEqual([]);
    expect(plan.note).toMatch(/not among the listed/);
  });

  describe('properties', () => {
    const policy = fc.record({
      keepLast: fc.integer({ min: 0, max: 5 }),
      hourly: fc.integer({ min: 0, max: 30 }),
      daily: fc.integer({ min: 0, max: 10 }),
      weekly: fc.integer({ min: 0, max: 6 }),
      monthly: fc.integer({ min: 0, max: 4 }),
    });
    const start = Date.parse('2025-01-01T00:00:00Z');
    const snapshots = fc
      .uniqueArray(fc.integer({ min: 0, max: 400 * 24 * 60 }), { minLength: 1, maxLength: 80 })
      .map((minutes) => minutes.map((m, i) => snap(new Date(start + m * 60_000).toISOString(), i + 1)));
    const withVerified = snapshots.chain((s) =>
      fc.tuple(fc.constant(s), fc.option(fc.integer({ min: 0, max: s.length - 1 }), { nil: undefined })),
    );

    it('never deletes the newest verified snapshot or anything newer', () => {
      fc.assert(
        fc.property(withVerified, policy, ([s, vi], p) => {
          const verified = vi === undefined ? null : s[vi]!;
          const plan = planRetention(s, verified?.key ?? null, p);
          for (const key of plan.delete) {
            const d = s.find((x) => x.key === key)!;
            expect(verified).not.toBeNull();
            expect(d.takenAt.getTime()).toBeLessThan(verified!.takenAt.getTime());
          }
        }),
      );
    });

    it('is idempotent: pruning what it keeps deletes nothing more', () => {
      fc.assert(
        fc.property(withVerified, policy, ([s, vi], p) => {
          const verified = vi === undefined ? null : s[vi]!.key;
          const first = planRetention(s, verified, p);
          const kept = s.filter((x) => first.keep.some((k) => k.key === x.key));
          expect(planRetention(kept, verified, p).delete).toEqual([]);
        }),
      );
    });

    it('is stable under reordering of the listing', () => {
      fc.assert(
        fc.property(withVerified, policy, fc.nat(), ([s, vi], p, seed) => {
          const verified = vi === undefined ? null : s[vi]!.key;
          const shuffled = [...s].sort(
            (a, b) => ((a.revision * 7919 + seed) % 97) - ((b.revision * 7919 + seed) % 97),
          );
          expect(planRetention(shuffled, verified, p)).toEqual(planRetention(s, verified, p));
        }),
      );
    });

    it('partitions the input: every snapshot is kept or deleted, once', () => {
      fc.assert(
        fc.property(withVerified, policy, ([s, vi], p) => {
          const plan = planRetention(s, vi === undefined ? null : s[vi]!.key, p);
          const all = [...plan.keep.map((k) => k.key), ...plan.delete].sort();
          expect(all).toEqual(s.map((x) => x.key).sort());
        }),
      );
    });
  });
});
