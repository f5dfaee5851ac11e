import { GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePorts, registryKeys, startEtcdCluster, type EtcdCluster } from '../../sandbox/etcd-cluster';
import { generateEtcdPki, type EtcdPki } from '../../sandbox/pki';
import { runScript, type ScriptRun } from '../../sandbox/run-script';
import { startLocalS3, type LocalS3 } from '../../sandbox/s3rver';

jest.setTimeout(60_000);

const AWS_CLI = '/usr/bin/aws';
const CLUSTER = 'prod-eu';
const INSTANCE_ID = 'i-0bbbbbbbbbbbbbbb0';
const SEEDED = { pods: 1200, configmaps: 600, secrets: 400, deployments: 200, services: 100 };
const CHECKS = [
  'download',
  'sha256',
  'snapshot-status',
  'restore',
  'etcd-healthy',
  'revision',
  'key-counts',
  'kube-apiserver',
];

interface Check {
  name: string;
  ok: boolean | null;
  /** milliseconds since the previous check */
  ms: number;
  detail: string;
}

interface Manifest {
  key: string;
  sha256: string;
  size: number;
  revision: number;
  totalKeys: number;
  keyCounts: Record<string, number>;
}

let root: string;
let pki: EtcdPki;
let etcd: EtcdCluster;
let s3: LocalS3;
let s3Client: S3Client;
/** the one real snapshot, taken by etcd-snapshot.sh */
let snapshotKey: string;
let manifestKey: string;
let snapshotBytes: Buffer;
let manifestBytes: Buffer;
let manifest: Manifest;

const pexecFile = promisify(execFile);

function explain(run: ScriptRun): string {
  return `exit ${run.exitCode}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}

async function getBytes(key: string): Promise<Buffer> {
  const out = await s3Client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  return Buffer.from(await out.Body!.transformToByteArray());
}

async function put(key: string, body: Buffer | string): Promise<void> {
  await s3Client.send(new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: body }));
}

/**
 * Stores a copy of the snapshot (and its manifest) under a key of its own, at the same revision,
 * with the snapshot bytes and/or the manifest replaced: the cases can then run side by side.
 */
async function storeVariant(
  day: number,
  replace: { snapshot?: Buffer; manifest?: Record<string, unknown> } = {},
): Promise<string> {
  const dd = String(day).padStart(2, '0');
  const key = `${CLUSTER}/etcd/2001/01/${dd}/200101${dd}T000000Z-r${manifest.revision}.db`;
  await put(key, replace.snapshot ?? snapshotBytes);
  await put(
    key.replace(/\.db$/, '.json'),
    replace.manifest ? JSON.stringify(replace.manifest) : manifestBytes,
  );
  return key;
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

/**
 * Runs etcd-restore-verify.sh in a fresh work dir on free ports, and records what it left behind:
 * processes whose command line mentions the work dir (where the data dir is), and files.
 */
async function verify(
  params: Record<string, string> = {},
  env: Record<string, string> = {},
): Promise<Verification> {
  const workDir = await mkdtemp(join(root, 'work-'));
  const [clientPort, peerPort] = await takePorts();
  const run = await runScript('etcd-restore-verify', {
    params: {
      Cluster: CLUSTER,
      Bucket: s3.bucket,
      Key: snapshotKey,
      ExecutionId: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-restore-verify:test',
      ClientPort: String(clientPort),
      PeerPort: String(peerPort),
      HealthTimeoutSeconds: '30',
      ...params,
    },
    instanceId: INSTANCE_ID,
    env: { ...s3.cliEnv, CARETAKER_AWS_CLI: AWS_CLI, CARETAKER_WORK_DIR: workDir, ...env },
  });
  const leftRunning = await processesUnder(workDir);
  const leftFiles = await readdir(workDir);
  if (run.exitCode !== 0 || !run.result) throw new Error(explain(run));
  return { run, result: run.result, checks: run.result.checks as Check[], leftRunning, leftFiles };
}

/** ports for runs that may overlap: taken from one pool, so no two runs get the same port */
let portPool: number[] = [];
async function takePorts(): Promise<[number, number]> {
  if (portPool.length < 2) portPool = await freePorts(16);
  return [portPool.pop()!, portPool.pop()!];
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

/** every check before `failed` passed, `failed` failed, every later gate was not run */
function expectFailedAt(v: Verification, failed: string): void {
  expect(v.result).toMatchObject({ verified: false, failedCheck: failed, instanceId: INSTANCE_ID });
  expect(v.checks.map((c) => c.name)).toEqual(CHECKS);
  const at = CHECKS.indexOf(failed);
  expect(v.checks.slice(0, at).map((c) => [c.name, c.ok])).toEqual(CHECKS.slice(0, at).map((n) => [n, true]));
  expect(check(v, failed).ok).toBe(false);
  expect(v.result.reason).toBe(`${failed}: ${check(v, failed).detail}`);
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'caretaker-restore-verify-test-'));
  pki = await generateEtcdPki(join(root, 'pki'));
  // one at a time, so afterAll can stop whatever did start
  s3 = await startLocalS3();
  etcd = await startEtcdCluster({ pki, dir: join(root, 'etcd') });
  s3Client = s3.client();
  await etcd.seed([
    ...registryKeys(SEEDED),
    '/registry/apiregistration.k8s.io/apiservices/v1.apps',
    '/compact_rev_key',
    '/caretaker/marker',
  ]);
  // history: the revision runs ahead of the key count
  await etcd.seed(registryKeys({ pods: 200 }));

  const workDir = await mkdtemp(join(root, 'snapshot-work-'));
  const snap = await runScript('etcd-snapshot', {
    params: {
      Cluster: CLUSTER,
      Bucket: s3.bucket,
      EtcdPort: String(etcd.member(0).clientPort),
      CaFile: pki.ca.cert,
      CertFile: pki.healthcheckClient.cert,
      KeyFile: pki.healthcheckClient.key,
      EtcdctlMode: 'host',
      DataDir: join(root, 'unused-data-dir'),
      ExecutionId: 'test',
    },
    instanceId: 'i-0aaaaaaaaaaaaaaa0',
    env: { ...s3.cliEnv, CARETAKER_AWS_CLI: AWS_CLI, CARETAKER_WORK_DIR: workDir },
  });
  if (snap.exitCode !== 0 || !snap.result) throw new Error(explain(snap));
  snapshotKey = snap.result.key as string;
  manifestKey = snap.result.manifestKey as string;
  snapshotBytes = await getBytes(snapshotKey);
  manifestBytes = await getBytes(manifestKey);
  manifest = JSON.parse(manifestBytes.toString('utf8')) as Manifest;
});

afterAll(async () => {
  s3Client?.destroy();
  await Promise.all([etcd?.stop(), s3?.stop()]);
  if (root) await rm(root, { recursive: true, force: true });
});

describe('etcd-restore-verify.sh on a good snapshot', () => {
  let v: Verification;

  beforeAll(async () => {
    v = await verify();
  });

  it('prints one CARETAKER_RESULT line with the contract fields', () => {
    expectNothingLeft(v);
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
      ].sort(),
    );
    expect(v.result).toMatchObject({
      instanceId: INSTANCE_ID,
      key: snapshotKey,
      verified: true,
      failedCheck: '',
      reason: '',
      etcdVersion: '3.4.23',
    });
  });

  it('passes every check in order, and reports kube-apiserver as skipped when it is not installed', () => {
    expect(v.checks.map((c) => [c.name, c.ok])).toEqual(
      CHECKS.map((name) => [name, name === 'kube-apiserver' ? null : true]),
    );
    for (const c of v.checks) expect(c.detail.length).toBeGreaterThan(5);
    expect(check(v, 'kube-apiserver').detail).toContain('kube-apiserver not on PATH');
    // Debian's etcd 3.4 has no etcdutl: etcdctl restores, without --bump-revision
    expect(check(v, 'restore').detail).toMatch(/^etcdctl snapshot restore in \d+\.\d{3} s$/);
  });

  it('restores the revision and the key counts of the manifest', () => {
    expect(manifest.keyCounts).toMatchObject({ ...SEEDED, 'apiregistration.k8s.io': 1 });
    expect(v.result.revision).toBe(manifest.revision);
    expect(v.result.totalKeys).toBe(manifest.totalKeys);
    expect(check(v, 'key-counts').detail).toContain(`${manifest.totalKeys} keys in total`);
  });

  it('measures the restore time (restore + start until healthy)', () => {
    expect(typeof v.result.restoreSeconds).toBe('number');
    expect(v.result.restoreSeconds).toBeGreaterThan(0);
    expect(v.result.restoreSeconds).toBeLessThan(30);
  });

  it('says how long each check took, so a slow verification shows where its time went', () => {
    for (const c of v.checks) expect(typeof c.ms).toBe('number');
    const total = v.checks.reduce((sum, c) => sum + c.ms, 0);
    expect(check(v, 'download').ms).toBeGreaterThan(0);
    expect(total).toBeLessThanOrEqual(v.run.durationMs);
  });
});

describe('etcd-restore-verify.sh on snapshots that must not verify', () => {
  const NEVER_HEALTHY_PIDS = () => join(root, 'never-healthy-etcd.pids');
  let truncated: Buffer;
  let wrongSha: string;
  let keyCounts: Record<string, number>;
  let missingKey: string;
  const runs: Record<string, Verification> = {};

  // the cases use keys of their own and run side by side (each is mostly AWS CLI start-up)
  beforeAll(async () => {
    truncated = snapshotBytes.subarray(0, Math.floor(snapshotBytes.length / 2));
    const flipped = Buffer.from(snapshotBytes);
    const mid = Math.floor(flipped.length / 2);
    for (let i = mid; i < mid + 16; i++) flipped[i] = flipped[i]! ^ 0xff;
    wrongSha = 'f'.repeat(64);
    keyCounts = { ...manifest.keyCounts, pods: SEEDED.pods + 1, secrets: SEEDED.secrets - 1 };
    missingKey = `${CLUSTER}/etcd/2001/01/31/20010131T000000Z-r${manifest.revision}.db`;

    const bin = join(root, 'never-healthy-etcd');
    await writeFile(
      bin,
      [
        '#!/bin/sh',
        '# stands in for an etcd that starts and never serves',
        'if [ "$1" = "--version" ]; then echo "etcd Version: 3.4.23"; exit 0; fi',
        'echo $$ >>"$NEVER_HEALTHY_PIDS"',
        'exec sleep 600',
        '',
      ].join('\n'),
    );
    await chmod(bin, 0o755);

    const keys = {
      truncated: await storeVariant(1, { snapshot: truncated }),
      flipped: await storeVariant(2, { snapshot: flipped }),
      wrongSha: await storeVariant(3, { manifest: { ...manifest, sha256: wrongSha } }),
      keyCounts: await storeVariant(4, { manifest: { ...manifest, keyCounts } }),
      neverHealthy: await storeVariant(5),
    };
    const cases: [string, Promise<Verification>][] = [
      ['truncated', verify({ Key: keys.truncated })],
      ['flipped', verify({ Key: keys.flipped })],
      ['wrongSha', verify({ Key: keys.wrongSha })],
      ['keyCounts', verify({ Key: keys.keyCounts })],
      [
        'neverHealthy',
        verify(
          { Key: keys.neverHealthy, HealthTimeoutSeconds: '3' },
          { CARETAKER_ETCD_BIN: bin, NEVER_HEALTHY_PIDS: NEVER_HEALTHY_PIDS() },
        ),
      ],
      ['missing', verify({ Key: missingKey })],
    ];
    const done = await Promise.all(cases.map(async ([name, v]) => [name, await v] as const));
    for (const [name, v] of done) runs[name] = v;
  });

  it('a truncated snapshot fails sha256', () => {
    const v = runs.truncated!;
    expectNothingLeft(v);
    expectFailedAt(v, 'sha256');
    expect(v.result.reason).toContain(
      `size is ${truncated.length} bytes, the manifest says ${manifest.size}`,
    );
    expect(v.result).toMatchObject({ revision: null, totalKeys: null, restoreSeconds: null });
  });

  it('flipped bytes in the middle fail sha256', () => {
    const v = runs.flipped!;
    expectNothingLeft(v);
    expectFailedAt(v, 'sha256');
    expect(v.result.reason).toContain(`the manifest says ${manifest.sha256}`);
    expect(v.result.reason).not.toContain('size');
  });

  it('a manifest whose sha256 does not match fails sha256', () => {
    const v = runs.wrongSha!;
    expectNothingLeft(v);
    expectFailedAt(v, 'sha256');
    expect(v.result.reason).toContain(`the manifest says ${wrongSha}`);
  });

  it('a manifest whose key counts do not match fails key-counts, naming every resource that differs', () => {
    const v = runs.keyCounts!;
    expectNothingLeft(v);
    expect(v.result).toMatchObject({ verified: false, failedCheck: 'key-counts' });
    // the restore itself was fine, and so was everything up to the comparison
    expect(v.checks.map((c) => [c.name, c.ok])).toEqual(
      CHECKS.map((name) => [name, name === 'kube-apiserver' ? null : name !== 'key-counts']),
    );
    expect(v.result.reason).toBe(
      `key-counts: pods: ${SEEDED.pods + 1} in manifest, ${SEEDED.pods} restored; ` +
        `secrets: ${SEEDED.secrets - 1} in manifest, ${SEEDED.secrets} restored`,
    );
    expect(v.result.totalKeys).toBe(manifest.totalKeys);
  });

  it('a snapshot whose etcd never becomes healthy fails etcd-healthy, and that etcd is stopped', async () => {
    const v = runs.neverHealthy!;
    expectNothingLeft(v);
    expectFailedAt(v, 'etcd-healthy');
    expect(v.result.reason).toMatch(
      /^etcd-healthy: etcd \(pid \d+\) was not healthy on http:\/\/127\.0\.0\.1:\d+ within 3 s/,
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
        Key: snapshotKey,
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
