/**
 * kops' events etcd as Caretaker's second backup series (`etcd.events: true`, `backup.source:
 * caretaker`): its own keys under `<cluster>/etcd/events/`, its own manifest kind, its own
 * retention and verification; the main series never sees its snapshots, and the reverse.
 */
import { createHash } from 'node:crypto';
import { findControlPlane } from '../../../functions/find-control-plane/service';
import { describeOutcome } from '../../../functions/publish-outcome/service';
import { pickSnapshot } from '../../../functions/pick-snapshot/service';
import { pruneSnapshots } from '../../../functions/prune-snapshots/service';
import { recordVerification } from '../../../functions/record-verification/service';
import { verifyUpload } from '../../../functions/verify-upload/service';
import { etcdSnapshot } from '../../../functions/shared/domain/commands/etcd-snapshot';
import { RESTORE_KEY_PATTERN } from '../../../functions/shared/domain/commands/etcd-restore-verify';
import { parseConfig, type ClusterConfig } from '../../../functions/shared/domain/config';
import {
  parseAnySnapshotKey,
  parseSnapshotKey,
  snapshotPrefix,
} from '../../../functions/shared/domain/snapshot-key';
import { InvalidInputError, UploadMismatchError } from '../../../functions/shared/errors';
import {
  fixedClock,
  memoryStore,
  recordingMetrics,
  staticDirectory,
  staticInventory,
  type MemoryObject,
} from '../../support/fakes';

const BUCKET = 'snapshots-bucket';
const key = (series: 'main' | 'events', h: number) =>
  `kops-prod/etcd/${series === 'events' ? 'events/' : ''}2026/11/25/20261125T0${h}0000Z-r${h}.db`;
const MAIN = [5, 4, 3, 2, 1].map((h) => key('main', h));
const EVENTS = [6, 4, 3, 2, 1].map((h) => key('events', h));

function kops(extra: Record<string, unknown> = {}): ClusterConfig {
  return parseConfig({
    clusters: [
      {
        name: 'kops-prod',
        kind: 'kops',
        region: 'eu-west-1',
        etcd: { events: true },
        backup: {
          source: 'caretaker',
          retention: { keepLast: 2, hourly: 0, daily: 0, weekly: 0, monthly: 0 },
        },
        ...extra,
      },
    ],
  }).clusters[0]!;
}

function snapshotObjects(k: string, kind?: string) {
  const body = `bytes of ${k}`;
  const sha = createHash('sha256').update(body).digest('hex');
  const revision = Number(/-r(\d+)\.db$/.exec(k)![1]);
  const manifest = {
    formatVersion: 1,
    ...(kind ? { kind } : {}),
    cluster: 'kops-prod',
    key: k,
    sha256: sha,
    size: Buffer.byteLength(body),
    revision,
    totalKeys: 3,
    keyCounts: { events: 3 },
    takenAt: '2026-11-25T06:00:00Z',
  };
  const objects: Record<string, MemoryObject> = {
    [k]: { body, metadata: { sha256: sha, revision: String(revision) } },
    [k.replace(/\.db$/, '.json')]: { body: JSON.stringify(manifest) },
  };
  const result = {
    bucket: BUCKET,
    key: k,
    manifestKey: k.replace(/\.db$/, '.json'),
    sha256: sha,
    size: Buffer.byteLength(body),
    revision,
  };
  return { objects, result };
}

function bothSeries(tag: (objects: Record<string, MemoryObject>) => void = () => undefined) {
  const objects: Record<string, MemoryObject> = {};
  for (const k of MAIN) Object.assign(objects, snapshotObjects(k).objects);
  for (const k of EVENTS) Object.assign(objects, snapshotObjects(k, 'etcd-events').objects);
  tag(objects);
  return memoryStore(objects);
}

describe('the events series keys', () => {
  it('parses each series only as itself: the main listing under <cluster>/etcd/ shows events keys it must skip', () => {
    expect(parseSnapshotKey(MAIN[0]!)).toMatchObject({ series: 'main', revision: 5 });
    expect(parseSnapshotKey(EVENTS[0]!)).toBeUndefined();
    expect(parseSnapshotKey(EVENTS[0]!, 'events')).toMatchObject({ series: 'events', cluster: 'kops-prod' });
    expect(parseSnapshotKey(MAIN[0]!, 'events')).toBeUndefined();
    expect(parseAnySnapshotKey(EVENTS[0]!)?.series).toBe('events');
    expect(EVENTS[0]!.startsWith(snapshotPrefix('kops-prod'))).toBe(true);
    expect(snapshotPrefix('kops-prod', 'events')).toBe('kops-prod/etcd/events/');
  });

  it("lets etcd-restore-verify's Key take an events snapshot, and nothing between the series", () => {
    const re = new RegExp(RESTORE_KEY_PATTERN);
    expect(re.test(EVENTS[0]!)).toBe(true);
    expect(re.test(MAIN[0]!)).toBe(true);
    expect(re.test('kops-prod/etcd/other/2026/11/25/20261125T060000Z-r6.db')).toBe(false);
  });
});

describe('etcd-snapshot with series events', () => {
  const context = { executionId: 'exec-1', bucket: BUCKET };

  it("reaches the events member: port 4002, the etcd-manager-events pod, kube-apiserver's one client certificate", () => {
    const c = kops();
    const main = etcdSnapshot.parameters(c, {}, context);
    const events = etcdSnapshot.parameters(c, { series: 'events' }, context);

    expect(main).toMatchObject({ EtcdPort: '4001', EtcdManager: 'main' });
    expect(events).toEqual({
      ...main,
      EtcdPort: '4002',
      EtcdManager: 'events',
    });
    expect(events['CertFile']).toBe('/srv/kubernetes/kube-apiserver/etcd-client.crt');
  });

  it('rejects series events for a cluster that does not back up its events etcd, naming args.series', () => {
    const act = () => etcdSnapshot.parameters(kops({ etcd: {} }), { series: 'events' }, context);
    expect(act).toThrow(InvalidInputError);
    expect(act).toThrow(/^args\.series: cluster kops-prod backs up no events etcd/);
  });
});

describe('events series configuration', () => {
  it('tells the backup workflow to take the events series only with Caretaker as the source', async () => {
    const inventory = staticInventory([{ instanceId: 'i-0123456789abcdef0' }] as never);
    const run = async (c: ClusterConfig) =>
      findControlPlane({ cluster: 'kops-prod' }, { clusters: staticDirectory([c]), inventory });

    expect(await run(kops())).toMatchObject({ backupSource: 'caretaker', backupEvents: true });
    expect(await run(kops({ etcd: {} }))).toMatchObject({ backupEvents: false });
    expect(
      await run(
        kops({
          backup: { source: 'etcd-manager' },
          kops: { stateStore: 's3://kops-state-store' },
        }),
      ),
    ).toMatchObject({ backupSource: 'etcd-manager', backupEvents: false });
  });

  it('rejects etcd.events taken by Caretaker without crictl access to etcd-manager, naming the field', () => {
    const act = () => kops({ etcd: { events: true, etcdctl: 'host' } });
    expect(act).toThrow(InvalidInputError);
    expect(act).toThrow(
      `clusters[0] (kops-prod).etcd.events: Caretaker reaches the events etcd inside etcd-manager's etcd-manager-events-* pod, which takes etcd.etcdctl "crictl" (it is "host")`,
    );
  });
});

describe('verifyUpload of an events snapshot', () => {
  it('accepts an events snapshot whose manifest says kind etcd-events', async () => {
    const { objects, result } = snapshotObjects(EVENTS[0]!, 'etcd-events');

    const out = await verifyUpload(
      { cluster: 'kops-prod', snapshot: result },
      { store: memoryStore(objects), bucket: BUCKET },
    );

    expect(out).toMatchObject({ key: EVENTS[0], revision: 6 });
  });

  it.each([
    [EVENTS[0]!, undefined, 'manifest kind: etcd ≠ manifest etcd-events'],
    [MAIN[0]!, 'etcd-events', 'manifest kind: etcd-events ≠ manifest etcd'],
  ])('fails when %s has a manifest of kind %s: the series are never mixed', async (k, kind, message) => {
    const { objects, result } = snapshotObjects(k, kind);

    const act = verifyUpload(
      { cluster: 'kops-prod', snapshot: result },
      { store: memoryStore(objects), bucket: BUCKET },
    );

    await expect(act).rejects.toThrow(UploadMismatchError);
    await expect(
      verifyUpload(
        { cluster: 'kops-prod', snapshot: result },
        { store: memoryStore(objects), bucket: BUCKET },
      ),
    ).rejects.toThrow(message);
  });
});

describe('pick and prune per series', () => {
  it('picks the newest main snapshot first, and never an events snapshot for main, although it is newer', async () => {
    const store = bothSeries();
    const picked = await pickSnapshot(
      { cluster: 'kops-prod' },
      { clusters: staticDirectory([kops()]), store, clock: fixedClock() },
    );
    expect(picked).toMatchObject({ found: true, key: MAIN[0] });
  });

  it('picks the newest events snapshot once the newest main one is judged', async () => {
    const store = bothSeries((o) => (o[MAIN[0]!]!.tags = { 'caretaker:verified': 'true' }));
    const picked = await pickSnapshot(
      { cluster: 'kops-prod' },
      { clusters: staticDirectory([kops()]), store, clock: fixedClock() },
    );
    expect(picked).toMatchObject({
      found: true,
      key: EVENTS[0],
      manifestKey: EVENTS[0]!.replace(/\.db$/, '.json'),
    });
  });

  it('takes the series judged longest ago: events, when main was judged since and always has a newer snapshot', async () => {
    // main: r4 judged (its report is beside it), r5 new; events: never judged, r6 new
    const report = (k: string) => k.replace(/\.db$/, '.verification.json');
    const store = bothSeries((o) => {
      o[MAIN[1]!]!.tags = { 'caretaker:verified': 'true' };
      o[report(MAIN[1]!)] = { body: '{}' };
    });
    const deps = { clusters: staticDirectory([kops()]), store, clock: fixedClock() };

    expect(await pickSnapshot({ cluster: 'kops-prod' }, deps)).toMatchObject({ found: true, key: EVENTS[0] });

    // once events was judged more recently than main, main's newest goes next
    const newerJudgedEvents = bothSeries((o) => {
      o[MAIN[2]!]!.tags = { 'caretaker:verified': 'true' };
      o[report(MAIN[2]!)] = { body: '{}' };
      o[EVENTS[1]!]!.tags = { 'caretaker:verified': 'true' };
      o[report(EVENTS[1]!)] = { body: '{}' };
    });
    expect(await pickSnapshot({ cluster: 'kops-prod' }, { ...deps, store: newerJudgedEvents })).toMatchObject(
      { found: true, key: MAIN[0] },
    );
  });

  it('ignores the events series when etcd.events is off, and says why nothing is left', async () => {
    const store = bothSeries((o) => (o[MAIN[0]!]!.tags = { 'caretaker:verified': 'true' }));
    const picked = await pickSnapshot(
      { cluster: 'kops-prod' },
      { clusters: staticDirectory([kops({ etcd: {} })]), store, clock: fixedClock() },
    );
    expect(picked).toEqual({
      found: false,
      reason: `the newest snapshot ${MAIN[0]} was already verified (caretaker:verified=true)`,
    });
  });

  it('says for each series why nothing is picked', async () => {
    const store = bothSeries((o) => {
      o[MAIN[0]!]!.tags = { 'caretaker:verified': 'true' };
      o[EVENTS[0]!]!.tags = { 'caretaker:verified': 'false' };
    });
    const picked = await pickSnapshot(
      { cluster: 'kops-prod' },
      { clusters: staticDirectory([kops()]), store, clock: fixedClock() },
    );
    expect(picked).toMatchObject({
      found: false,
      reason: expect.stringContaining(`events snapshot ${EVENTS[0]}`),
    });
  });

  it('prunes each series by its own newest verified snapshot; neither counts the other', async () => {
    // main: verified r4 keeps r5, r4; events: verified r2 keeps r6, r4, r3, r2
    const store = bothSeries((o) => {
      o[MAIN[1]!]!.tags = { 'caretaker:verified': 'true' };
      o[EVENTS[3]!]!.tags = { 'caretaker:verified': 'true' };
    });

    const out = await pruneSnapshots(
      { cluster: 'kops-prod' },
      { clusters: staticDirectory([kops()]), store, clock: fixedClock() },
    );

    expect(out).toMatchObject({
      kept: 2,
      deleted: [MAIN[2], MAIN[3], MAIN[4]],
      newestVerified: MAIN[1],
      events: { kept: 4, deleted: [EVENTS[4]], newestVerified: EVENTS[3] },
    });
    const left = [...store.objects.keys()].filter((k) => k.endsWith('.db'));
    expect(left.sort()).toEqual([MAIN[0], MAIN[1], EVENTS[0], EVENTS[1], EVENTS[2], EVENTS[3]].sort());
  });

  it('leaves the events snapshots alone when the events series is off', async () => {
    const store = bothSeries((o) => (o[MAIN[1]!]!.tags = { 'caretaker:verified': 'true' }));

    const out = await pruneSnapshots(
      { cluster: 'kops-prod' },
      { clusters: staticDirectory([kops({ etcd: {} })]), store, clock: fixedClock() },
    );

    expect(out).not.toHaveProperty('events');
    expect(out.deleted).toEqual([MAIN[2], MAIN[3], MAIN[4]]);
    for (const k of EVENTS) expect(store.objects.has(k)).toBe(true);
  });

  it('records a verdict on an events snapshot by tagging it, like a main one', async () => {
    const store = bothSeries();
    await recordVerification(
      {
        cluster: 'kops-prod',
        executionId: 'exec-1',
        key: EVENTS[0]!,
        verification: {
          key: EVENTS[0]!,
          verified: true,
          failedCheck: '',
          reason: '',
          checks: [{ name: 'kubernetes-data', ok: true, detail: '3 keys under /registry/events/' }],
          revision: 6,
          totalKeys: 3,
          restoreSeconds: 1,
        },
      },
      { store, metrics: recordingMetrics(), clock: fixedClock() },
    );
    expect(store.objects.get(EVENTS[0]!)?.tags).toMatchObject({ 'caretaker:verified': 'true' });
  });
});

describe('the backup outcome with both series', () => {
  it('names the events snapshot and the events retention beside main', () => {
    const sha = 'a'.repeat(64);
    const { message } = describeOutcome(
      {
        cluster: 'kops-prod',
        workflow: 'etcd-backup',
        outcome: 'Succeeded',
        executionId: 'exec-1',
        startedAt: '2026-11-25T06:00:00Z',
        snapshot: {
          key: MAIN[0]!,
          size: 10,
          sha256: sha,
          revision: 5,
          events: { key: EVENTS[0]!, size: 4, sha256: sha, revision: 6 },
        },
        pruned: {
          kept: 2,
          deleted: [],
          skippedLocked: [],
          events: { kept: 4, deleted: [EVENTS[4]!], skippedLocked: [] },
        },
      },
      12,
    );
    expect(message).toContain(`Snapshot: ${MAIN[0]} (10 bytes, revision 5, sha256 ${sha})`);
    expect(message).toContain(`Events snapshot: ${EVENTS[0]} (4 bytes, revision 6, sha256 ${sha})`);
    expect(message).toContain('Retention of the events series: kept 4, deleted 1');
  });
});
