import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePorts, registryKeys, startEtcdCluster, type EtcdCluster } from '../../sandbox/etcd-cluster';
import {
  ETCD_VERSIONS,
  etcdVersionsUnderTest,
  type EtcdBinaries,
  type EtcdVersion,
} from '../../sandbox/etcd-versions';
import { generateEtcdPki, type EtcdPki } from '../../sandbox/pki';
import { runScript, type ScriptRun } from '../../sandbox/run-script';
import { startLocalS3, type LocalS3 } from '../../sandbox/s3rver';

jest.setTimeout(180_000);

const AWS_CLI = '/usr/bin/aws';
const CLUSTER = 'prod-eu';
const INSTANCE_ID = 'i-0bbbbbbbbbbbbbbb0';
const BUMP = 1_000_000_000;
const SEEDED = { pods: 1200, configmaps: 600, secrets: 400, deployments: 200, services: 100 };
const CHECKS = [
  'download',
  'manifest',
  'sha256',
  'etcd-version',
  'snapshot-status',
  'restore',
  'etcd-healthy',
  'revision',
  'kubernetes-data',
  'key-counts',
  'kube-apiserver',
];
const VERSIONS = etcdVersionsUnderTest();

interface Check {
  name: string;
  ok: boolean | null;
  /** milliseconds the check added (its own duration for snapshot-status and restore, which overlap) */
  ms: number;
  detail: string;
}

/** the manifest the backup writes, formatVersion 2 (see ssm-documents/etcd-snapshot.sh) */
interface Manifest {
  formatVersion: number;
  cluster: string;
  key: string;
  sha256: string;
  size: number;
  revision: number;
  totalKeys: number;
  keyCounts: Record<string, number>;
  etcdVersion: string;
  storageVersion: string | null;
  snapshotTool: { name: 'etcdutl' | 'etcdctl'; version: string };
  etcdPrefix: string;
  memberId: string;
  memberName: string;
  instanceId: string;
  takenAt: string;
  takenBy: string;
  snapshotStatus: { hash: number; revision: number; totalKey: number; totalSize: number };
}

/** a real snapshot in the local S3, with the manifest that describes it */
interface StoredSnapshot {
  key: string;
  bytes: Buffer;
  manifest: Manifest;
}

let root: string;
let pki: EtcdPki;
let s3: LocalS3;
let s3Client: S3Client;
/** each version's good snapshot, for the cases across versions */
const goodSnapshots = new Map<EtcdVersion, StoredSnapshot>();

const pexecFile = promisify(execFile);

function explain(run: ScriptRun): string {
  return `exit ${run.exitCode}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}

async function put(key: string, body: Buffer | string): Promise<void> {
  await s3Client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
}

/** `<cluster>/etcd/2001/<month>/<day>/…-r<rev>.db`: a month per etcd version, a day per case */
function snapshotKey(version: EtcdVersion, day: number, revision: number): string {
  const mm = String(ETCD_VERSIONS.indexOf(version) + 1).padStart(2, '0');
  const dd = String(day).padStart(2, '0');
  return `${CLUSTER}/etcd/2001/${mm}/${dd}/2001${mm}${dd}T000000Z-r${revision}.db`;
}

/** the first line's version of `<bin> --version` / `<bin> version` */
async function versionOf(bin: string, arg: string): Promise<string> {
  const { stdout } = await pexecFile(bin, [arg]);
  const m = /version: (\S+)/i.exec(stdout);
  if (!m?.[1]) throw new Error(`no version in ${bin} ${arg}: ${stdout}`);
  return m[1];
}

/**
 * Takes a real snapshot of `etcd` with the version's own tools (etcdctl snapshot save, then
 * etcdutl — or etcdctl on 3.4 — snapshot status), counts its keys at exactly its revision, and
 * describes it with a formatVersion 2 manifest, as the backup does.
 */
async function takeSnapshot(
  etcd: EtcdCluster,
  binaries: EtcdBinaries,
  dir: string,
): Promise<Omit<StoredSnapshot, 'key'>> {
  const file = join(dir, `snapshot-${Date.now()}.db`);
  await etcd.client(0).run(['snapshot', 'save', file], undefined, 60);
  const statusTool = binaries.etcdutl ?? binaries.etcdctl;
  const { stdout } = await pexecFile(statusTool, ['snapshot', 'status', file, '-w', 'json']);
  const status = JSON.parse(stdout) as {
    hash: number;
    revision: number;
    totalKey: number;
    totalSize: number;
    version?: string;
  };
  const bytes = await readFile(file);
  await rm(file);
  const [member] = await etcd.client(0).status();
  const manifest: Manifest = {
    formatVersion: 2,
    cluster: CLUSTER,
    key: '', // set when stored
    sha256: createHash('sha256').update(bytes).digest('hex'),
    size: bytes.length,
    revision: status.revision,
    totalKeys: await etcd.client().totalKeys(status.revision),
    keyCounts: await etcd.client().registryKeyCounts(status.revision),
    etcdVersion: member!.version,
    storageVersion: status.version ? status.version : null,
    snapshotTool: {
      name: binaries.etcdutl ? 'etcdutl' : 'etcdctl',
      version: await versionOf(statusTool, 'version'),
    },
    etcdPrefix: '/registry',
    memberId: member!.memberId,
    memberName: 'member-0',
    instanceId: 'i-0aaaaaaaaaaaaaaa0',
    takenAt: '2001-01-01T00:00:00Z',
    takenBy: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-etcd-backup:test',
    snapshotStatus: {
      hash: status.hash,
      revision: status.revision,
      totalKey: status.totalKey,
      totalSize: status.totalSize,
    },
  };
  return { bytes, manifest };
}

/**
 * Stores `snapshot` under the key of (version, day) with its manifest, or with `manifest`
 * instead: a JSON value (the key set to the stored key unless it says otherwise) or raw text.
 */
async function store(
  version: EtcdVersion,
  day: number,
  snapshot: Omit<StoredSnapshot, 'key'>,
  replace: { bytes?: Buffer; manifest?: Record<string, unknown> | string } = {},
): Promise<string> {
  const key = snapshotKey(version, day, snapshot.manifest.revision);
  await put(key, replace.bytes ?? snapshot.bytes);
  const manifest =
    typeof replace.manifest === 'string'
      ? replace.manifest
      : `${JSON.stringify({ ...snapshot.manifest, key, ...replace.manifest })}\n`;
  await put(key.replace(/\.db$/, '.json'), manifest);
  return key;
}

function omit<T extends object>(value: T, keys: string[]): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([k]) => !keys.includes(k)));
}

/** the command lines of processes whose command line mentions `dir` (pgrep -f) */
async function processesUnder(dir: string): Promise<string[]> {
  try {
    const { stdout } = await pexecFile('pgrep', ['-a', '-f', dir]);
    return stdout.trim().split('\n');
  } catch (err) {
    if ((err as { code?: number }).code === 1) return []; // pgrep: nothing matched
    throw err;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

interface Verification {
  run: ScriptRun;
  result: Record<string, unknown>;
  checks: Check[];
  /** command lines of processes still running that mention the run's work dir (pgrep -f) */
  leftRunning: string[];
  /** what is left in the run's work dir */
  leftFiles: string[];
}

/** ports for runs that may overlap: taken from one pool, so no two runs get the same port */
let portPool: number[] = [];
async function takePorts(): Promise<[number, number]> {
  if (portPool.length < 2) portPool = await freePorts(16);
  return [portPool.pop()!, portPool.pop()!];
}

/**
 * Runs etcd-restore-verify.sh of `scratch` (its binaries first on PATH) in a fresh work dir on
 * free ports, and records what it left behind: processes whose command line mentions the work
 * dir (where the data dir is), and files.
 */
async function verify(
  scratch: EtcdBinaries,
  key: string,
  params: Record<string, string> = {},
  env: Record<string, string> = {},
): Promise<Verification> {
  const workDir = await mkdtemp(join(root, 'work-'));
  const [clientPort, peerPort] = await takePorts();
  const run = await runScript('etcd-restore-verify', {
    params: {
      Cluster: CLUSTER,
      Bucket: s3.bucket,
      Key: key,
      ExecutionId: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-restore-verify:test',
      ClientPort: String(clientPort),
      PeerPort: String(peerPort),
      HealthTimeoutSeconds: '30',
      ...params,
    },
    instanceId: INSTANCE_ID,
    pathPrepend: [scratch.binDir],
    env: { ...s3.cliEnv, CARETAKER_AWS_CLI: AWS_CLI, CARETAKER_WORK_DIR: workDir, ...env },
    timeoutMs: 150_000,
  });
  const leftRunning = await processesUnder(workDir);
  const leftFiles = await readdir(workDir);
  if (run.exitCode !== 0 || !run.result) throw new Error(explain(run));
  return { run, result: run.result, checks: run.result.checks as Check[], leftRunning, leftFiles };
}

/** runs `cases` at most `parallel` at a time (2 shared cores; each run is mostly CLI start-ups) */
async function runAll<K extends string>(
  cases: Record<K, () => Promise<Verification>>,
  parallel = 3,
): Promise<Record<K, Verification>> {
  const entries = Object.entries(cases) as [K, () => Promise<Verification>][];
  const out = {} as Record<K, Verification>;
  let next = 0;
  await Promise.all(
    Array.from({ length: parallel }, async () => {
      while (next < entries.length) {
        const [name, run] = entries[next++]!;
        out[name] = await run();
      }
    }),
  );
  return out;
}

function expectNothingLeft(v: Verification): void {
  expect(v.leftRunning).toEqual([]);
  expect(v.leftFiles).toEqual([]);
}

function check(v: Verification, name: string): Check {
  const found = v.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no check ${name} in ${JSON.stringify(v.checks)}`);
  return found;
}

/** the verdict is `failed`: every check before it passed; `after` says what the later ones show */
function expectFailedAt(v: Verification, failed: string, after: 'not run' | 'ran' = 'not run'): void {
  expect(v.result).toMatchObject({ verified: false, failedCheck: failed, instanceId: INSTANCE_ID });
  expect(v.checks.map((c) => c.name)).toEqual(CHECKS);
  const at = CHECKS.indexOf(failed);
  expect(v.checks.slice(0, at).map((c) => [c.name, c.ok])).toEqual(CHECKS.slice(0, at).map((n) => [n, true]));
  expect(check(v, failed).ok).toBe(false);
  expect(v.result.reason).toBe(`${failed}: ${check(v, failed).detail}`);
  if (after === 'not run') {
    for (const c of v.checks.slice(at + 1)) {
      expect([c.name, c.ok, c.detail]).toEqual([c.name, null, `not run: ${failed} failed`]);
    }
  }
}

/** the checks that ran, kube-apiserver skipped (not on PATH here) */
function expectAllPassed(v: Verification): void {
  expect(v.result).toMatchObject({ verified: true, failedCheck: '', reason: '' });
  expect(v.checks.map((c) => [c.name, c.ok])).toEqual(
    CHECKS.map((name) => [name, name === 'kube-apiserver' ? null : true]),
  );
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'caretaker-restore-verify-test-'));
  pki = await generateEtcdPki(join(root, 'pki'));
  s3 = await startLocalS3();
  s3Client = s3.client();
});

afterAll(async () => {
  s3Client?.destroy();
  await s3?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

describe.each(VERSIONS.map((b) => [b.version, b] as const))(
  'etcd-restore-verify.sh on etcd %s',
  (version, binaries) => {
    let etcd: EtcdCluster;
    let good: StoredSnapshot;
    let noKube: Omit<StoredSnapshot, 'key'>;
    let etcdVersion: string;
    let keyCounts: Record<string, number>;
    let runs: Record<
      | 'good'
      | 'formatV1'
      | 'truncatedManifest'
      | 'duplicateKey'
      | 'notJson'
      | 'wrongFields'
      | 'formatV3'
      | 'etcdHash'
      | 'newerEtcd'
      | 'noKube'
      | 'keyCounts'
      | 'unlisted',
      Verification
    >;

    beforeAll(async () => {
      const dir = await mkdtemp(join(root, `etcd-${version}-`));
      etcd = await startEtcdCluster({ pki, binaries, dir: join(dir, 'etcd') });
      etcdVersion = await versionOf(binaries.etcd, '--version');
      // first what an events etcd holds: Kubernetes-shaped keys, but no namespaces
      await etcd.seed(Array.from({ length: 300 }, (_, i) => `/registry/events/default/event-${i}`));
      noKube = await takeSnapshot(etcd, binaries, dir);
      // then a cluster: namespaces, resources, keys outside /registry, and history (the revision
      // runs ahead of the key count)
      const seeded = new Set([
        ...registryKeys(SEEDED),
        ...['default', 'kube-system', 'apps', 'monitoring'].map((ns) => `/registry/namespaces/${ns}`),
        '/registry/apiregistration.k8s.io/apiservices/v1.apps',
        '/compact_rev_key',
        '/caretaker/marker',
      ]);
      await etcd.seed([...seeded]);
      await etcd.seed(registryKeys({ pods: 200 }));
      const snap = await takeSnapshot(etcd, binaries, dir);
      good = { ...snap, key: await store(version, 1, snap) };
      good.manifest = { ...good.manifest, key: good.key };
      goodSnapshots.set(version, good);

      const m = snap.manifest;
      keyCounts = { ...m.keyCounts, pods: SEEDED.pods + 1, secrets: SEEDED.secrets - 1 };
      const withoutServices = omit(m.keyCounts, ['services']);
      const [major, minor] = etcdVersion.split('.').map(Number);
      const full = (key: string) => JSON.stringify({ ...m, key });
      const k = (day: number) => snapshotKey(version, day, m.revision);
      const v1 = omit(m, ['key', 'storageVersion', 'snapshotTool', 'etcdPrefix']);
      const keys = {
        formatV1: await store(version, 2, snap, { manifest: { ...v1, formatVersion: 1 } }),
        truncatedManifest: await store(version, 3, snap, { manifest: full(k(3)).slice(0, 200) }),
        // a second "sha256" after the real one: a regular expression over the text reads the first
        duplicateKey: await store(version, 4, snap, {
          manifest: full(k(4)).replace(/\}$/, `,"sha256":"${'0'.repeat(64)}"}`),
        }),
        notJson: await store(version, 5, snap, { manifest: '<Error><Code>SlowDown</Code></Error>' }),
        wrongFields: await store(version, 6, snap, {
          manifest: { cluster: 'other', key: k(1), snapshotStatus: { ...m.snapshotStatus, hash: 'x' } },
        }),
        formatV3: await store(version, 7, snap, { manifest: { formatVersion: 3 } }),
        etcdHash: await store(version, 8, snap, {
          manifest: { snapshotStatus: { ...m.snapshotStatus, hash: (m.snapshotStatus.hash + 1) % 2 ** 32 } },
        }),
        newerEtcd: await store(version, 9, snap, { manifest: { etcdVersion: `${major}.${minor! + 1}.0` } }),
        noKube: await store(version, 10, noKube),
        keyCounts: await store(version, 11, snap, { manifest: { keyCounts } }),
        unlisted: await store(version, 12, snap, { manifest: { keyCounts: withoutServices } }),
      };
      runs = await runAll({
        good: () => verify(binaries, good.key),
        formatV1: () => verify(binaries, keys.formatV1),
        truncatedManifest: () => verify(binaries, keys.truncatedManifest),
        duplicateKey: () => verify(binaries, keys.duplicateKey),
        notJson: () => verify(binaries, keys.notJson),
        wrongFields: () => verify(binaries, keys.wrongFields),
        formatV3: () => verify(binaries, keys.formatV3),
        etcdHash: () => verify(binaries, keys.etcdHash),
        newerEtcd: () => verify(binaries, keys.newerEtcd),
        noKube: () => verify(binaries, keys.noKube),
        keyCounts: () => verify(binaries, keys.keyCounts),
        unlisted: () => verify(binaries, keys.unlisted),
      });
    });

    afterAll(async () => {
      await etcd?.stop();
    });

    it('verifies a good snapshot: every check passes in order, one CARETAKER_RESULT line, nothing left behind', () => {
      const v = runs.good;
      expectNothingLeft(v);
      expectAllPassed(v);
      expect(v.run.stdout.trim().split('\n')).toHaveLength(1);
      expect(Object.keys(v.result).sort()).toEqual(
        [
          'instanceId',
          'key',
          'verified',
          'failedCheck',
          'reason',
          'checks',
          'revision',
          'totalKeys',
          'restoreSeconds',
          'etcdVersion',
          'restoreTool',
          'revisionBump',
        ].sort(),
      );
      expect(v.result).toMatchObject({ instanceId: INSTANCE_ID, key: good.key, etcdVersion });
      expect(check(v, 'kube-apiserver').detail).toContain('kube-apiserver not on PATH');
      expect(typeof v.result.restoreSeconds).toBe('number');
      expect(v.result.restoreSeconds).toBeGreaterThan(0);
      for (const c of v.checks) expect(c.ms).toBeLessThanOrEqual(v.run.durationMs);
    });

    it('picks etcdutl where the version has it and etcdctl only on 3.4, once, and reports tool and version', () => {
      const v = runs.good;
      const tool = version === '3.4' ? 'etcdctl' : 'etcdutl';
      expect(v.result.restoreTool).toEqual({ name: tool, version: etcdVersion });
      expect(check(v, 'snapshot-status').detail).toContain(`(${tool} ${etcdVersion}`);
      expect(check(v, 'restore').detail).toMatch(new RegExp(`^${tool} ${etcdVersion} snapshot restore`));
    });

    it('restores with --bump-revision and --mark-compacted on 3.5+ and finds exactly the bumped revision', () => {
      const v = runs.good;
      const bump = version === '3.4' ? 0 : BUMP;
      expect(v.result.revisionBump).toBe(bump);
      expect(v.result.revision).toBe(good.manifest.revision + bump);
      if (bump) {
        expect(check(v, 'restore').detail).toContain('--bump-revision=1000000000 --mark-compacted');
        expect(check(v, 'revision').detail).toBe(
          `restored revision ${good.manifest.revision + BUMP} = ${good.manifest.revision} in the manifest + ${BUMP} (--bump-revision)`,
        );
      } else {
        expect(check(v, 'restore').detail).not.toContain('--bump-revision');
        expect(check(v, 'revision').detail).toBe(
          `restored revision ${good.manifest.revision} equals the manifest's`,
        );
      }
    });

    it("compares etcd's own hash with the manifest's, beside the sha256", () => {
      expect(check(runs.good, 'snapshot-status').detail).toContain(
        `etcd's hash ${good.manifest.snapshotStatus.hash} and revision ${good.manifest.revision} match the manifest`,
      );
      const v = runs.etcdHash;
      expectNothingLeft(v);
      // snapshot status runs beside the restore: both ran, etcd did not
      expectFailedAt(v, 'snapshot-status', 'ran');
      expect(check(v, 'etcd-healthy')).toMatchObject({ ok: null, detail: 'not run: snapshot-status failed' });
      expect(v.result.reason).toBe(
        `snapshot-status: etcd's hash of the downloaded snapshot is ${good.manifest.snapshotStatus.hash}, ` +
          `the manifest says ${(good.manifest.snapshotStatus.hash + 1) % 2 ** 32}`,
      );
    });

    it('counts the restored keys per manifest resource and in total, as the manifest says', () => {
      const v = runs.good;
      expect(good.manifest.keyCounts).toMatchObject({
        ...SEEDED,
        namespaces: 4,
        'apiregistration.k8s.io': 1,
      });
      expect(v.result.totalKeys).toBe(good.manifest.totalKeys);
      expect(check(v, 'key-counts').detail).toBe(
        `${good.manifest.totalKeys} keys in total and ${Object.keys(good.manifest.keyCounts).length} /registry resources ` +
          `match the manifest (counted by etcd at revision ${v.result.revision as number})`,
      );
      expect(check(v, 'kubernetes-data').detail).toBe(
        '/registry/namespaces/default and /registry/namespaces/kube-system are there',
      );
    });

    it('still verifies a formatVersion 1 manifest (no storageVersion, snapshotTool or etcdPrefix)', () => {
      const v = runs.formatV1;
      expectNothingLeft(v);
      expectAllPassed(v);
      expect(check(v, 'manifest').detail).toMatch(/^format 1: cluster prod-eu/);
    });

    it('fails manifest, not download, for a truncated manifest', () => {
      const v = runs.truncatedManifest;
      expectNothingLeft(v);
      expectFailedAt(v, 'manifest');
      expect(v.result.reason).toMatch(
        /is not a Caretaker snapshot manifest this verifier can trust: it is not valid JSON: the text ends inside a string at byte 200 \(truncated\?\)$/,
      );
    });

    it('fails manifest for a manifest that repeats a key', () => {
      const v = runs.duplicateKey;
      expectNothingLeft(v);
      expectFailedAt(v, 'manifest');
      expect(v.result.reason).toContain(
        'it is not valid JSON: duplicate key "sha256" in the top-level object',
      );
    });

    it('fails manifest for something that is not JSON at all', () => {
      const v = runs.notJson;
      expectNothingLeft(v);
      expectFailedAt(v, 'manifest');
      expect(v.result.reason).toContain(
        'it is not valid JSON: expected a value at byte 0, near: <Error><Code>SlowDown',
      );
    });

    it('fails manifest naming every field that is wrong: cluster, key, etcd hash', () => {
      const v = runs.wrongFields;
      expectNothingLeft(v);
      expectFailedAt(v, 'manifest');
      expect(v.result.reason).toContain(`cluster is "other", not ${CLUSTER}`);
      expect(v.result.reason).toContain(
        `key is "${good.key}", not ${snapshotKey(version, 6, good.manifest.revision)}`,
      );
      expect(v.result.reason).toContain('snapshotStatus/hash is string, not number');
    });

    it('fails manifest for a format it does not read', () => {
      const v = runs.formatV3;
      expectNothingLeft(v);
      expectFailedAt(v, 'manifest');
      expect(v.result.reason).toContain('formatVersion is "3", not a format this verifier reads (1 or 2)');
    });

    it('refuses to restore a snapshot taken by a newer etcd, naming both versions', () => {
      const v = runs.newerEtcd;
      expectNothingLeft(v);
      expectFailedAt(v, 'etcd-version');
      const [major, minor] = etcdVersion.split('.').map(Number);
      const newer = `${major}.${minor! + 1}`;
      expect(v.result.reason).toContain(`the snapshot was taken by etcd ${newer}.0`);
      expect(v.result.reason).toContain(`this scratch instance runs etcd ${etcdVersion}`);
      expect(v.result.reason).toContain(`give it an image with etcd ${newer} or newer`);
      expect(v.result).toMatchObject({ restoreSeconds: null, revision: null });
    });

    it('does not verify a snapshot that holds no Kubernetes data (an events etcd)', () => {
      const v = runs.noKube;
      expectNothingLeft(v);
      expectFailedAt(v, 'kubernetes-data', 'ran');
      expect(noKube.manifest.keyCounts).toEqual({ events: 300 });
      expect(v.result.reason).toMatch(
        /^kubernetes-data: no \/registry\/namespaces\/default and no \/registry\/namespaces\/kube-system key in the restored etcd \(300 keys, 300 under \/registry\/\): this snapshot holds no Kubernetes cluster/,
      );
      // the snapshot itself is fine: it restores and counts as its manifest says
      expect(check(v, 'key-counts').ok).toBe(true);
    });

    it('fails key-counts naming every resource that differs', () => {
      const v = runs.keyCounts;
      expectNothingLeft(v);
      expectFailedAt(v, 'key-counts', 'ran');
      expect(v.result.reason).toBe(
        `key-counts: pods: ${SEEDED.pods + 1} in manifest, ${SEEDED.pods} restored; ` +
          `secrets: ${SEEDED.secrets - 1} in manifest, ${SEEDED.secrets} restored`,
      );
      expect(v.result.totalKeys).toBe(good.manifest.totalKeys);
    });

    it('fails key-counts for keys in a resource the manifest does not list, naming it', () => {
      const v = runs.unlisted;
      expectNothingLeft(v);
      expectFailedAt(v, 'key-counts', 'ran');
      expect(v.result.reason).toBe(
        `key-counts: ${SEEDED.services} keys under /registry/ in resources the manifest does not list (services ${SEEDED.services})`,
      );
    });
  },
);

/** both versions are under test (CARETAKER_ETCD_VERSIONS may narrow the matrix) */
const underTest = (...versions: EtcdVersion[]) =>
  versions.every((v) => VERSIONS.some((b) => b.version === v));
const binariesOf = (version: EtcdVersion) => VERSIONS.find((b) => b.version === version)!;

function goodSnapshotOf(version: EtcdVersion): StoredSnapshot {
  const snapshot = goodSnapshots.get(version);
  if (!snapshot) throw new Error(`no ${version} snapshot: its describe did not take one`);
  return snapshot;
}

describe('etcd-restore-verify.sh across etcd versions', () => {
  if (underTest('3.5', '3.6')) {
    it('verifies a 3.5 snapshot restored by 3.6', async () => {
      const snapshot = goodSnapshotOf('3.5');
      const scratchVersion = await versionOf(binariesOf('3.6').etcd, '--version');
      const v = await verify(binariesOf('3.6'), snapshot.key);
      expectNothingLeft(v);
      expectAllPassed(v);
      expect(v.result.restoreTool).toEqual({ name: 'etcdutl', version: scratchVersion });
      expect(check(v, 'etcd-version').detail).toBe(
        `etcd ${scratchVersion} with etcdutl ${scratchVersion} can restore a snapshot taken by etcd ` +
          `${snapshot.manifest.etcdVersion}, storage version (none recorded)`,
      );
      expect(v.result.revision).toBe(snapshot.manifest.revision + BUMP);
    });
  }

  if (underTest('3.6', '3.4')) {
    it('refuses a 3.6 snapshot on a 3.4 scratch instance, naming both versions', async () => {
      const snapshot = goodSnapshotOf('3.6');
      const scratchVersion = await versionOf(binariesOf('3.4').etcd, '--version');
      const v = await verify(binariesOf('3.4'), snapshot.key);
      expectNothingLeft(v);
      expectFailedAt(v, 'etcd-version');
      expect(v.result.reason).toBe(
        `etcd-version: refusing to restore: the snapshot was taken by etcd ${snapshot.manifest.etcdVersion}, ` +
          `storage version ${snapshot.manifest.storageVersion}; this scratch instance runs etcd ${scratchVersion} ` +
          `with etcdctl ${scratchVersion}, older than ${snapshot.manifest.etcdVersion}: give it an image with etcd 3.6 or newer`,
      );
    });
  }
});

describe('etcd-restore-verify.sh on snapshots whose bytes or objects are wrong', () => {
  const NEVER_HEALTHY_PIDS = () => join(root, 'never-healthy-etcd.pids');
  // any version will do: these fail before etcd's version matters, or with a stand-in etcd
  const binaries = VERSIONS[VERSIONS.length - 1]!;
  let good: StoredSnapshot;
  let truncated: Buffer;
  let wrongSha: string;
  let missingKey: string;
  let noManifestKey: string;
  const runs: Record<string, Verification> = {};

  beforeAll(async () => {
    good = goodSnapshotOf(binaries.version);
    truncated = good.bytes.subarray(0, Math.floor(good.bytes.length / 2));
    const flipped = Buffer.from(good.bytes);
    const mid = Math.floor(flipped.length / 2);
    for (let i = mid; i < mid + 16; i++) flipped[i] = flipped[i]! ^ 0xff;
    wrongSha = 'f'.repeat(64);
    missingKey = snapshotKey(binaries.version, 31, good.manifest.revision);
    noManifestKey = snapshotKey(binaries.version, 30, good.manifest.revision);
    await put(noManifestKey, good.bytes);

    const bin = join(root, 'never-healthy-etcd');
    await writeFile(
      bin,
      [
        '#!/bin/sh',
        '# stands in for an etcd that starts and never serves',
        `if [ "$1" = "--version" ]; then echo "etcd Version: ${good.manifest.etcdVersion}"; exit 0; fi`,
        'echo $$ >>"$NEVER_HEALTHY_PIDS"',
        'exec sleep 600',
        '',
      ].join('\n'),
    );
    await chmod(bin, 0o755);

    const keys = {
      truncated: await store(binaries.version, 21, good, { bytes: truncated }),
      flipped: await store(binaries.version, 22, good, { bytes: flipped }),
      wrongSha: await store(binaries.version, 23, good, { manifest: { sha256: wrongSha } }),
      neverHealthy: await store(binaries.version, 24, good),
    };
    Object.assign(
      runs,
      await runAll({
        truncated: () => verify(binaries, keys.truncated),
        flipped: () => verify(binaries, keys.flipped),
        wrongSha: () => verify(binaries, keys.wrongSha),
        neverHealthy: () =>
          verify(
            binaries,
            keys.neverHealthy,
            { HealthTimeoutSeconds: '3' },
            { CARETAKER_ETCD_BIN: bin, NEVER_HEALTHY_PIDS: NEVER_HEALTHY_PIDS() },
          ),
        missing: () => verify(binaries, missingKey),
        noManifest: () => verify(binaries, noManifestKey),
      }),
    );
  });

  it('a truncated snapshot fails sha256', () => {
    const v = runs.truncated!;
    expectNothingLeft(v);
    expectFailedAt(v, 'sha256');
    expect(v.result.reason).toContain(
      `size is ${truncated.length} bytes, the manifest says ${good.manifest.size}`,
    );
    expect(v.result).toMatchObject({ revision: null, totalKeys: null, restoreSeconds: null });
  });

  it('flipped bytes in the middle fail sha256, and etcd is never started on them', () => {
    const v = runs.flipped!;
    expectNothingLeft(v);
    // the hash runs beside the restore: both ran, etcd did not
    expectFailedAt(v, 'sha256', 'ran');
    expect(check(v, 'etcd-healthy')).toMatchObject({ ok: null, detail: 'not run: sha256 failed' });
    expect(v.result.reason).toContain(`the manifest says ${good.manifest.sha256}`);
    expect(v.result.reason).not.toContain('size');
  });

  it('a manifest whose sha256 does not match fails sha256', () => {
    const v = runs.wrongSha!;
    expectNothingLeft(v);
    expectFailedAt(v, 'sha256', 'ran');
    expect(check(v, 'etcd-healthy')).toMatchObject({ ok: null, detail: 'not run: sha256 failed' });
    expect(v.result.reason).toContain(`the manifest says ${wrongSha}`);
  });

  it('a snapshot whose etcd never becomes healthy fails etcd-healthy, and that etcd is stopped', async () => {
    const v = runs.neverHealthy!;
    expectNothingLeft(v);
    expectFailedAt(v, 'etcd-healthy');
    expect(v.result.reason).toMatch(
      /^etcd-healthy: etcd \(pid \d+\) was not healthy on http:\/\/127\.0\.0\.1:(\d+) within 3 s: nothing accepted a connection on 127\.0\.0\.1:\1$/,
    );
    expect(v.result).toMatchObject({ restoreSeconds: null, revision: null });
    const pids = (await readFile(NEVER_HEALTHY_PIDS(), 'utf8')).trim().split('\n').map(Number);
    expect(pids).toHaveLength(1);
    expect(isAlive(pids[0]!)).toBe(false);
  });

  it('a missing object fails download', () => {
    const v = runs.missing!;
    expectNothingLeft(v);
    expectFailedAt(v, 'download');
    expect(v.result.reason).toContain(`cannot download the snapshot s3://${s3.bucket}/${missingKey}`);
    expect(v.result.key).toBe(missingKey);
  });

  it('a snapshot without its manifest fails download, naming the manifest', () => {
    const v = runs.noManifest!;
    expectNothingLeft(v);
    expectFailedAt(v, 'download');
    expect(v.result.reason).toContain(
      `cannot download the manifest s3://${s3.bucket}/${noManifestKey.replace(/\.db$/, '.json')}`,
    );
  });
});

describe('etcd-restore-verify.sh parameters', () => {
  it.each([
    ['Key', `${CLUSTER}/etcd/2026/01/01/20260101T000000Z-r5.db;reboot`],
    ['Key', `other/etcd/2026/01/01/20260101T000000Z-r5.db`],
    ['ClientPort', '70000'],
    ['HealthTimeoutSeconds', '1m'],
  ])('rejects %s=%j with a non-zero exit naming the parameter', async (name, value) => {
    const workDir = await mkdtemp(join(root, 'work-'));
    const run = await runScript('etcd-restore-verify', {
      params: {
        Cluster: CLUSTER,
        Bucket: s3.bucket,
        Key: `${CLUSTER}/etcd/2026/01/01/20260101T000000Z-r5.db`,
        ExecutionId: 'manual',
        ClientPort: '23790',
        PeerPort: '23800',
        HealthTimeoutSeconds: '60',
        [name]: value,
      },
      env: { ...s3.cliEnv, CARETAKER_AWS_CLI: AWS_CLI, CARETAKER_WORK_DIR: workDir },
    });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`parameter ${name} is invalid`);
    expect(run.stdout).toBe('');
    expect(await readdir(workDir)).toEqual([]);
  });
});
