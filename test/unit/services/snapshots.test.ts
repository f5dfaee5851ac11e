import { createHash } from 'node:crypto';
import { pruneSnapshots } from '../../../functions/prune-snapshots/service';
import { verifyUpload } from '../../../functions/verify-upload/service';
import { UploadMismatchError } from '../../../functions/shared/errors';
import { fixedClock, memoryStore, staticDirectory, type MemoryObject } from '../../support/fakes';

const BUCKET = 'snapshots-bucket';

function snapshotObjects(key: string, body = 'etcd-bytes', revision = 4711) {
  const sha = createHash('sha256').update(body).digest('hex');
  const manifest = {
    formatVersion: 1,
    cluster: 'prod-eu',
    key,
    sha256: sha,
    size: Buffer.byteLength(body),
    revision,
    totalKeys: 3,
    keyCounts: { pods: 2, secrets: 1 },
    takenAt: '2026-11-25T06:00:12Z',
  };
  const objects: Record<string, MemoryObject> = {
    [key]: { body, metadata: { sha256: sha, revision: String(revision) } },
    [key.replace(/\.db$/, '.json')]: { body: JSON.stringify(manifest) },
  };
  const result = {
    bucket: BUCKET,
    key,
    manifestKey: key.replace(/\.db$/, '.json'),
    sha256: sha,
    size: Buffer.byteLength(body),
    revision,
  };
  return { objects, result, manifest };
}

const KEY = 'prod-eu/etcd/2026/11/25/20261125T060012Z-r4711.db';

describe('verifyUpload', () => {
  it('accepts an upload whose object and manifest agree with what the node reported', async () => {
    const { objects, result } = snapshotObjects(KEY);
    const out = await verifyUpload(
      { cluster: 'prod-eu', snapshot: result },
      { store: memoryStore(objects), bucket: BUCKET },
    );
    expect(out).toEqual({ ...result, totalKeys: 3 });
  });

  it('fails when the stored object is shorter than the manifest says (a truncated upload)', async () => {
    const { objects, result } = snapshotObjects(KEY);
    objects[KEY]!.body = 'etcd-by';
    const act = verifyUpload(
      { cluster: 'prod-eu', snapshot: result },
      { store: memoryStore(objects), bucket: BUCKET },
    );
    await expect(act).rejects.toThrow(UploadMismatchError);
    await expect(
      verifyUpload({ cluster: 'prod-eu', snapshot: result }, { store: memoryStore(objects), bucket: BUCKET }),
    ).rejects.toThrow(/object size: 7 ≠ manifest 10/);
  });

  it('fails when the object sha256 metadata differs from the manifest', async () => {
    const { objects, result } = snapshotObjects(KEY);
    objects[KEY]!.metadata!.sha256 = '0'.repeat(64);
    await expect(
      verifyUpload({ cluster: 'prod-eu', snapshot: result }, { store: memoryStore(objects), bucket: BUCKET }),
    ).rejects.toThrow(/object metadata sha256: 0{64} ≠ manifest/);
  });

  it('fails when the node reported a different revision than the manifest', async () => {
    const { objects, result } = snapshotObjects(KEY);
    await expect(
      verifyUpload(
        { cluster: 'prod-eu', snapshot: { ...result, revision: 1 } },
        { store: memoryStore(objects), bucket: BUCKET },
      ),
    ).rejects.toThrow(/reported revision: 1 ≠ manifest 4711/);
  });

  it('fails when the object is missing', async () => {
    const { result } = snapshotObjects(KEY);
    await expect(
      verifyUpload({ cluster: 'prod-eu', snapshot: result }, { store: memoryStore({}), bucket: BUCKET }),
    ).rejects.toThrow(/does not exist/);
  });

  it('fails with UploadMismatchError, not a SyntaxError, when the manifest is not JSON', async () => {
    const { objects, result } = snapshotObjects(KEY);
    objects[result.manifestKey] = { body: '{"formatVersion": 1, "cluster": "prod-' };

    const act = verifyUpload(
      { cluster: 'prod-eu', snapshot: result },
      { store: memoryStore(objects), bucket: BUCKET },
    );

    await expect(act).rejects.toThrow(UploadMismatchError);
    await expect(act).rejects.toThrow(/manifest prod-eu\/etcd\/.*\.json is not JSON/);
  });

  it('fails when the manifest is missing', async () => {
    const { objects, result } = snapshotObjects(KEY);
    delete objects[result.manifestKey];
    await expect(
      verifyUpload({ cluster: 'prod-eu', snapshot: result }, { store: memoryStore(objects), bucket: BUCKET }),
    ).rejects.toThrow(/manifest .* is missing/);
  });

  it('rejects a key outside the cluster prefix before reading anything', async () => {
    const { objects, result } = snapshotObjects(KEY);
    const store = memoryStore(objects);
    const head = jest.spyOn(store, 'head');
    const other = {
      ...result,
      key: 'other/etcd/2026/11/25/20261125T060012Z-r4711.db',
      manifestKey: 'other/etcd/2026/11/25/20261125T060012Z-r4711.json',
    };
    await expect(
      verifyUpload({ cluster: 'prod-eu', snapshot: other }, { store, bucket: BUCKET }),
    ).rejects.toThrow(/is not a snapshot key of cluster prod-eu/);
    expect(head).not.toHaveBeenCalled();
  });
});

describe('pruneSnapshots', () => {
  // prod-eu keeps the last 2 (see testConfig)
  const keys = [5, 4, 3, 2, 1].map((h) => `prod-eu/etcd/2026/11/25/20261125T0${h}0000Z-r${h}.db`);
  function store(extra: (objects: Record<string, MemoryObject>) => void = () => undefined) {
    const objects: Record<string, MemoryObject> = {};
    for (const k of keys) Object.assign(objects, snapshotObjects(k).objects);
    extra(objects);
    return memoryStore(objects);
  }
  const deps = (s: ReturnType<typeof store>) => ({
    clusters: staticDirectory(),
    store: s,
    clock: fixedClock(),
  });

  it('deletes snapshots and their manifests beyond retention, older than the newest verified', async () => {
    const s = store((o) => (o[keys[1]!]!.tags = { 'caretaker:verified': 'true' }));
    const out = await pruneSnapshots({ cluster: 'prod-eu' }, deps(s));
    expect(out).toEqual({
      kept: 2,
      deleted: [keys[2], keys[3], keys[4]],
      skippedLocked: [],
      newestVerified: keys[1],
      note: '',
    });
    expect(s.deleted).toContain(keys[2]!.replace(/\.db$/, '.json'));
    expect([...s.objects.keys()].filter((k) => k.endsWith('.db'))).toEqual([keys[0], keys[1]]);
  });

  it('deletes nothing while no snapshot is verified, and says why', async () => {
    const s = store();
    const out = await pruneSnapshots({ cluster: 'prod-eu' }, deps(s));
    expect(out.deleted).toEqual([]);
    expect(out.note).toMatch(/no snapshot has been verified/);
    expect(s.deleted).toEqual([]);
  });

  it('keeps snapshots newer than the newest verified one even beyond keep-last', async () => {
    const s = store((o) => (o[keys[3]!]!.tags = { 'caretaker:verified': 'true' }));
    const out = await pruneSnapshots({ cluster: 'prod-eu' }, deps(s));
    expect(out.deleted).toEqual([keys[4]]);
  });

  it('skips objects under Object Lock retention or legal hold instead of failing', async () => {
    const s = store((o) => {
      o[keys[0]!]!.tags = { 'caretaker:verified': 'true' };
      o[keys[2]!]!.lockedUntil = new Date('2027-01-01T00:00:00Z');
      o[keys[3]!]!.legalHold = true;
      o[keys[4]!]!.lockedUntil = new Date('2026-01-01T00:00:00Z'); // expired lock
    });
    const out = await pruneSnapshots({ cluster: 'prod-eu' }, deps(s));
    expect(out.skippedLocked).toEqual([keys[2], keys[3]]);
    expect(out.deleted).toEqual([keys[4]]);
  });

  it('ignores objects that are not snapshots of this cluster', async () => {
    const s = store((o) => {
      o[keys[0]!]!.tags = { 'caretaker:verified': 'true' };
      o['prod-eu/etcd/notes.txt'] = { body: 'x' };
    });
    await pruneSnapshots({ cluster: 'prod-eu' }, deps(s));
    expect(s.objects.has('prod-eu/etcd/notes.txt')).toBe(true);
  });
});
