/**
 * kops as a first-class kind: its configuration (kops.stateStore, backup.source, etcd.events),
 * etcd-manager's backup layout, and restore verification of etcd-manager's own backups: picked from
 * the state store (read only), sent to the scratch instance with the state store's bucket, recorded
 * in Caretaker's own bucket.
 */
import { pickSnapshot } from '../../../functions/pick-snapshot/service';
import { recordVerification } from '../../../functions/record-verification/service';
import { sendCommand } from '../../../functions/send-command/service';
import { etcdAccessParameters } from '../../../functions/shared/domain/commands/etcd-access';
import { parseConfig, type ClusterConfig } from '../../../functions/shared/domain/config';
import {
  etcdManagerBackupsPrefix,
  listedBackups,
  parseEtcdManagerKey,
  parseStateStore,
} from '../../../functions/shared/domain/etcd-manager';
import { scheduleOf, etcdBackup } from '../../../functions/shared/workflows';
import { InvalidInputError } from '../../../functions/shared/errors';
import type { StateStoreReader } from '../../../functions/shared/ports';
import {
  fakeRunner,
  fixedClock,
  memoryStore,
  memoryTokens,
  recordingMetrics,
  staticDirectory,
  staticInventory,
} from '../../support/fakes';

const BASE = 'clusters/prod.k8s.example.com/backups/etcd/main';
const NEWEST = `${BASE}/2026-11-25T05:45:00Z-000097/etcd.backup.gz`;
const OLDER = `${BASE}/2026-11-25T05:30:00Z-000096/etcd.backup.gz`;
/** data written, meta not yet: etcd-manager has not finished this one */
const UNFINISHED = `${BASE}/2026-11-25T05:59:59Z-000098/etcd.backup.gz`;

function kops(extra: Record<string, unknown> = {}): ClusterConfig {
  return parseConfig({
    clusters: [
      {
        name: 'kops-prod',
        kind: 'kops',
        region: 'eu-west-1',
        kops: { stateStore: 's3://kops-state-store/clusters', clusterName: 'prod.k8s.example.com' },
        restoreVerify: { launchTemplate: 'lt-0123456789abcdef0' },
        ...extra,
      },
    ],
  }).clusters[0]!;
}

/** the state store as S3 lists it; `reads` records what was asked (never a write) */
function stateStore(keys: string[]): StateStoreReader & { reads: string[]; buckets: string[] } {
  const reads: string[] = [];
  const buckets: string[] = [];
  return {
    reads,
    buckets,
    async list(prefix) {
      reads.push(`list ${prefix}`);
      return keys
        .filter((k) => k.startsWith(prefix))
        .map((key) => ({ key, size: 1, lastModified: new Date(0) }));
    },
    async head(key) {
      reads.push(`head ${key}`);
      return keys.includes(key) ? { size: 1, metadata: {} } : undefined;
    },
  };
}

const meta = (k: string) => k.replace(/etcd\.backup\.gz$/, '_etcd_backup.meta');

describe('kops configuration', () => {
  it('defaults a kops cluster to etcd-manager: its pods, kops 1.22+ certificates, and etcd-manager as the backup source', () => {
    const c = kops();
    expect(c.etcd).toEqual({
      clientPort: 4001,
      caFile: '/srv/kubernetes/kube-apiserver/etcd-ca.crt',
      certFile: '/srv/kubernetes/kube-apiserver/etcd-client.crt',
      keyFile: '/srv/kubernetes/kube-apiserver/etcd-client.key',
      etcdctl: 'crictl',
      dataDir: '/mnt/master-vol-etcd-main/data',
      etcdManager: true,
    });
    expect(c.backup.source).toBe('etcd-manager');
    expect(c.kops).toEqual({
      stateStore: { bucket: 'kops-state-store', prefix: 'clusters' },
      clusterName: 'prod.k8s.example.com',
    });
    expect(etcdAccessParameters(c.etcd!)).toMatchObject({ EtcdManager: 'main', EtcdPort: '4001' });
  });

  it('schedules no Caretaker backup while etcd-manager takes them, and does with source caretaker', () => {
    expect(scheduleOf(etcdBackup, kops())).toBeUndefined();
    expect(scheduleOf(etcdBackup, kops({ backup: { source: 'caretaker' } }))).toEqual({
      expression: 'rate(1 hour)',
      timeZone: 'UTC',
    });
  });

  it('keeps kubeadm and kubespray exactly as they were: source caretaker, no EtcdManager parameter', () => {
    const c = parseConfig({ clusters: [{ name: 'a', kind: 'kubeadm', region: 'eu-west-1' }] }).clusters[0]!;
    expect(c.backup.source).toBe('caretaker');
    expect(etcdAccessParameters(c.etcd!)).not.toHaveProperty('EtcdManager');
  });

  it.each([
    [
      { name: 'a', kind: 'kubeadm', region: 'eu-west-1', backup: { source: 'etcd-manager' } },
      'clusters[0] (a).backup.source: etcd-manager takes backups only on kops; a kubeadm cluster is backed up by Caretaker (source "caretaker")',
    ],
    [
      { name: 'a', kind: 'kubespray', region: 'eu-west-1', etcd: { events: true } },
      'clusters[0] (a).etcd.events: only kops runs a separate events etcd (etcd-manager-events on 4002); remove it',
    ],
    [
      { name: 'a', kind: 'kubeadm', region: 'eu-west-1', kops: { stateStore: 's3://x-y-z' } },
      'clusters[0] (a).kops: only a kops cluster has a kops state store; remove this block',
    ],
    [
      {
        name: 'a',
        kind: 'kops',
        region: 'eu-west-1',
        restoreVerify: { launchTemplate: 'lt-0123456789abcdef0' },
      },
      'clusters[0] (a).kops.stateStore: restoreVerify checks etcd-manager',
    ],
    [
      { name: 'a', kind: 'kops', region: 'eu-west-1', kops: { stateStore: 'https://bucket/x' } },
      'clusters[0] (a).kops.stateStore: must be the kops state store as s3://bucket or s3://bucket/prefix',
    ],
    [
      { name: 'a', kind: 'kops', region: 'eu-west-1', backup: { source: 'velero' } },
      'clusters[0] (a).backup.source',
    ],
  ])('rejects %j naming the field', (cluster, message) => {
    expect(() => parseConfig({ clusters: [cluster] })).toThrow(InvalidInputError);
    expect(() => parseConfig({ clusters: [cluster] })).toThrow(message);
  });
});

describe("etcd-manager's backup layout", () => {
  it('reads the state store URL and the backups prefix as kops lays them out', () => {
    expect(parseStateStore('s3://kops-state-store')).toEqual({ bucket: 'kops-state-store', prefix: '' });
    expect(parseStateStore('s3://kops-state-store/a/b/')).toEqual({
      bucket: 'kops-state-store',
      prefix: 'a/b',
    });
    expect(parseStateStore('s3://Bad_Bucket')).toBeUndefined();
    expect(etcdManagerBackupsPrefix(kops().kops!, 'events')).toBe(
      'clusters/prod.k8s.example.com/backups/etcd/events/',
    );
  });

  it('parses a backup key: its meta file, etcd cluster, name and time', () => {
    expect(parseEtcdManagerKey(NEWEST)).toEqual({
      key: NEWEST,
      metaKey: meta(NEWEST),
      base: 'clusters/prod.k8s.example.com',
      cluster: 'main',
      name: '2026-11-25T05:45:00Z-000097',
      takenAt: new Date('2026-11-25T05:45:00Z'),
    });
    expect(parseEtcdManagerKey(meta(NEWEST))).toBeUndefined();
    expect(parseEtcdManagerKey(`${BASE}/2026-11-25T05:45:00Z-97/etcd.backup.gz`)).toBeUndefined();
  });

  it('lists only backups whose meta file is there, newest first, as etcd-manager does', () => {
    const listed = listedBackups([OLDER, meta(OLDER), NEWEST, meta(NEWEST), UNFINISHED]);
    expect(listed.map((b) => b.key)).toEqual([NEWEST, OLDER]);
  });
});

describe('restore verification of etcd-manager backups', () => {
  const clusters = () => staticDirectory([kops()]);

  it("picks etcd-manager's newest complete backup, reading the state store only", async () => {
    const reader = stateStore([OLDER, meta(OLDER), NEWEST, meta(NEWEST), UNFINISHED]);
    const picked = await pickSnapshot(
      { cluster: 'kops-prod' },
      {
        clusters: clusters(),
        store: memoryStore(),
        clock: fixedClock('2026-11-25T06:00:00.000Z'),
        stateStores: (bucket) => {
          reader.buckets.push(bucket);
          return reader;
        },
      },
    );
    expect(picked).toEqual({
      found: true,
      key: NEWEST,
      manifestKey: meta(NEWEST),
      takenAt: '2026-11-25T05:45:00.000Z',
      ageSeconds: 900,
      source: 'etcd-manager',
    });
    expect(reader.buckets).toEqual(['kops-state-store']);
    expect(reader.reads).toEqual(['list clusters/prod.k8s.example.com/backups/etcd/main/']);
  });

  it("skips a backup Caretaker already judged, by its record in Caretaker's bucket", async () => {
    const store = memoryStore({
      'kops-prod/etcd-manager/main/2026-11-25T05:45:00Z-000097.verification.json': { body: '{}' },
    });
    const picked = await pickSnapshot(
      { cluster: 'kops-prod' },
      {
        clusters: clusters(),
        store,
        clock: fixedClock(),
        stateStores: () => stateStore([NEWEST, meta(NEWEST)]),
      },
    );
    expect(picked).toEqual({
      found: false,
      reason: expect.stringContaining(
        "etcd-manager's newest main backup 2026-11-25T05:45:00Z-000097 was already verified",
      ),
    });
  });

  it('verifies the events series too when etcd.events opts in: once main is judged, the newest events backup', async () => {
    const EVENTS =
      'clusters/prod.k8s.example.com/backups/etcd/events/2026-11-25T05:40:00Z-000011/etcd.backup.gz';
    const store = memoryStore({
      'kops-prod/etcd-manager/main/2026-11-25T05:45:00Z-000097.verification.json': { body: '{}' },
    });
    const reader = stateStore([NEWEST, meta(NEWEST), EVENTS, meta(EVENTS)]);
    const deps = { store, clock: fixedClock(), stateStores: () => reader };

    const withEvents = await pickSnapshot(
      { cluster: 'kops-prod' },
      { ...deps, clusters: staticDirectory([kops({ etcd: { events: true } })]) },
    );
    const without = await pickSnapshot({ cluster: 'kops-prod' }, { ...deps, clusters: clusters() });

    expect(withEvents).toMatchObject({ found: true, key: EVENTS, manifestKey: meta(EVENTS) });
    expect(without).toMatchObject({ found: false });
  });

  it('takes the events series when main was judged more recently, although main has a newer backup', async () => {
    const EVENTS =
      'clusters/prod.k8s.example.com/backups/etcd/events/2026-11-25T05:40:00Z-000011/etcd.backup.gz';
    // main's older backup was judged; events was never judged; both have an unjudged newest backup
    const store = memoryStore({
      'kops-prod/etcd-manager/main/2026-11-25T05:30:00Z-000096.verification.json': { body: '{}' },
    });
    const reader = stateStore([NEWEST, meta(NEWEST), OLDER, meta(OLDER), EVENTS, meta(EVENTS)]);

    const picked = await pickSnapshot(
      { cluster: 'kops-prod' },
      {
        store,
        clock: fixedClock(),
        stateStores: () => reader,
        clusters: staticDirectory([kops({ etcd: { events: true } })]),
      },
    );

    expect(picked).toMatchObject({ found: true, key: EVENTS });
  });

  it("says when etcd-manager has written nothing yet, and refuses another cluster's backup", async () => {
    const deps = {
      clusters: clusters(),
      store: memoryStore(),
      clock: fixedClock(),
      stateStores: () => stateStore([]),
    };
    expect(await pickSnapshot({ cluster: 'kops-prod' }, deps)).toEqual({
      found: false,
      reason:
        'etcd-manager has written no backup under s3://kops-state-store/clusters/prod.k8s.example.com/backups/etcd/main/ yet',
    });
    await expect(
      pickSnapshot(
        {
          cluster: 'kops-prod',
          key: 'clusters/other.k8s.example.com/backups/etcd/main/2026-11-25T05:45:00Z-000001/etcd.backup.gz',
        },
        deps,
      ),
    ).rejects.toThrow('is not an etcd-manager backup of cluster kops-prod');
  });

  it("sends the scratch instance the state store's bucket and Source etcd-manager, and refuses a foreign backup", async () => {
    const runner = fakeRunner();
    const deps = {
      clusters: clusters(),
      inventory: staticInventory([{ instanceId: 'i-0badc0ffee0000001' }]),
      runner,
      tokens: memoryTokens(),
      clock: fixedClock(),
      documents: { 'etcd-restore-verify': 'Doc-RV' },
      bucket: 'caretaker-snapshots',
    };
    const request = (key: string) => ({
      taskToken: 't',
      cluster: 'kops-prod',
      instanceId: 'i-0badc0ffee0000001',
      command: 'etcd-restore-verify' as const,
      executionId: 'exec-1',
      state: 'Restore and check the snapshot on the scratch instance',
      args: { key },
    });

    await sendCommand(request(NEWEST), deps);

    expect(runner.sent[0]!.parameters).toEqual({
      Cluster: 'kops-prod',
      Bucket: 'kops-state-store',
      Key: NEWEST,
      ExecutionId: 'exec-1',
      Source: 'etcd-manager',
    });
    await expect(
      sendCommand(
        request(
          'clusters/other.k8s.example.com/backups/etcd/main/2026-11-25T05:45:00Z-000001/etcd.backup.gz',
        ),
        deps,
      ),
    ).rejects.toThrow("is not an etcd-manager backup in cluster kops-prod's kops state store");
    expect(runner.sent).toHaveLength(1);
  });

  it("records the verdict in Caretaker's bucket, never tags the state store, and emits the Verified metric", async () => {
    const store = memoryStore();
    const metrics = recordingMetrics();
    const result = await recordVerification(
      {
        cluster: 'kops-prod',
        executionId: 'exec-1',
        key: NEWEST,
        verification: {
          key: NEWEST,
          verified: false,
          failedCheck: 'gzip',
          reason: 'gzip: etcd.backup.gz does not unpack whole',
          checks: [{ name: 'gzip', ok: false, detail: 'unexpected end of file' }],
          revision: null,
          totalKeys: null,
          restoreSeconds: null,
        },
      },
      { store, metrics, clock: fixedClock('2026-11-25T06:00:00.000Z') },
    );
    expect(result).toMatchObject({
      verified: false,
      failedCheck: 'gzip',
      reportKey: 'kops-prod/etcd-manager/main/2026-11-25T05:45:00Z-000097.verification.json',
    });
    expect([...store.objects.keys()]).toEqual([
      'kops-prod/etcd-manager/main/2026-11-25T05:45:00Z-000097.verification.json',
    ]);
    expect(JSON.parse(store.objects.get(result.reportKey)!.body)).toMatchObject({
      source: 'etcd-manager',
      key: NEWEST,
      etcdCluster: 'main',
      verified: false,
      snapshotAgeSeconds: 900,
    });
    expect(metrics.records).toEqual([
      [
        { cluster: 'kops-prod', workflow: 'restore-verify' },
        {
          Verified: { value: 0, unit: 'Count' },
          SnapshotAgeAtVerifySeconds: { value: 900, unit: 'Seconds' },
        },
      ],
    ]);
  });
});
