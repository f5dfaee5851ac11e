import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { createHash } from 'node:crypto';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifest as manifestSchema, snapshotResult } from '../../functions/shared/domain/schemas';
import { parseSnapshotKey } from '../../functions/shared/domain/snapshot-key';
import { freePorts, registryKeys, startEtcdCluster, type EtcdCluster } from '../../sandbox/etcd-cluster';
import { generateEtcdPki, type EtcdPki } from '../../sandbox/pki';
import { runScript, type ScriptRun } from '../../sandbox/run-script';
import { STAND_IN_BIN_DIR } from '../support/stand-ins';
import { startLocalS3, type LocalS3 } from '../../sandbox/s3rver';

jest.setTimeout(60_000);

const AWS_CLI = '/usr/bin/aws';
const CLUSTER = 'prod-eu';
const EXECUTION_ID =
  'arn:aws:states:eu-west-1:123456789012:execution:caretaker-etcd-backup:scheduled-20260101T0000Z';
const SEEDED = { pods: 1500, configmaps: 700, secrets: 500, deployments: 250, services: 150 };

let root: string;
let pki: EtcdPki;
let etcd: EtcdCluster;
let s3: LocalS3;
let s3Client: S3Client;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'caretaker-snapshot-test-'));
  pki = await generateEtcdPki(join(root, 'pki'));
  // one at a time, so afterAll can stop whatever did start
  s3 = await startLocalS3();
  etcd = await startEtcdCluster({ pki, dir: join(root, 'etcd') });
  s3Client = s3.client();
  await etcd.seed([
    ...registryKeys(SEEDED),
    // a group-qualified resource and keys outside /registry: counted in totalKeys only
    '/registry/apiregistration.k8s.io/apiservices/v1.apps',
    '/registry/apiregistration.k8s.io/apiservices/v1.batch',
    '/compact_rev_key',
    '/caretaker/marker',
  ]);
  // history: rewrite some keys so the revision runs ahead of the key count
  await etcd.seed(registryKeys({ pods: 300 }));
});

afterAll(async () => {
  s3Client?.destroy();
  await Promise.all([etcd?.stop(), s3?.stop()]);
  if (root) await rm(root, { recursive: true, force: true });
});

/** a fresh, empty CARETAKER_WORK_DIR per run, so "left nothing behind" is checkable */
async function newWorkDir(): Promise<string> {
  return mkdtemp(join(root, 'work-'));
}

function params(overrides: Record<string, string> = {}): Record<string, string> {
  return {
    Cluster: CLUSTER,
    Bucket: s3.bucket,
    EtcdPort: String(etcd.member(0).clientPort),
    CaFile: pki.ca.cert,
    CertFile: pki.healthcheckClient.cert,
    KeyFile: pki.healthcheckClient.key,
    EtcdctlMode: 'host',
    DataDir: join(root, 'unused-data-dir'),
    ExecutionId: EXECUTION_ID,
    ...overrides,
  };
}

function snapshot(workDir: string, overrides: Record<string, string> = {}, env: Record<string, string> = {}) {
  return runScript('etcd-snapshot', {
    params: params(overrides),
    instanceId: 'i-0aaaaaaaaaaaaaaa0',
    env: { ...s3.cliEnv, CARETAKER_AWS_CLI: AWS_CLI, CARETAKER_WORK_DIR: workDir, ...env },
  });
}

async function objectKeys(): Promise<string[]> {
  const out = await s3Client.send(new ListObjectsV2Command({ Bucket: s3.bucket }));
  return (out.Contents ?? []).map((o) => o.Key ?? '').sort();
}

async function getBytes(key: string): Promise<{ body: Buffer; metadata: Record<string, string> }> {
  const out = await s3Client.send(new GetObjectCommand({ Bucket: s3.bucket, Key: key }));
  const body = Buffer.from(await out.Body!.transformToByteArray());
  return { body, metadata: out.Metadata ?? {} };
}

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

function explain(run: ScriptRun): string {
  return `exit ${run.exitCode}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}

describe('etcd-snapshot.sh in host mode against a 3-member TLS cluster', () => {
  let run: ScriptRun;
  let workDir: string;
  let result: Record<string, unknown>;
  let manifest: Record<string, unknown>;
  let writesDuringRun = 0;

  beforeAll(async () => {
    workDir = await newWorkDir();
    // keep writing while the snapshot runs: the manifest must still describe the snapshot exactly
    let writing = true;
    const writer = (async () => {
      for (let batch = 0; writing; batch++) {
        await etcd.seed(registryKeys({ events: 40 }).map((k) => `${k}-${batch}`));
        writesDuringRun += 40;
      }
    })();
    run = await snapshot(workDir);
    writing = false;
    await writer;
    if (run.exitCode !== 0 || !run.result) throw new Error(explain(run));
    result = run.result;
    manifest = JSON.parse((await getBytes(result.manifestKey as string)).body.toString('utf8'));
  });

  it('prints one CARETAKER_RESULT line with the contract fields', async () => {
    const status = (await etcd.client(0).status())[0]!;
    expect(run.stdout.trim().split('\n')).toHaveLength(1);
    expect(Object.keys(result).sort()).toEqual(
      [
        'instanceId',
        'bucket',
        'key',
        'manifestKey',
        'sha256',
        'size',
        'revision',
        'totalKeys',
        'etcdVersion',
        'memberId',
        'takenAt',
        'durationMs',
      ].sort(),
    );
    expect(result).toMatchObject({
      instanceId: 'i-0aaaaaaaaaaaaaaa0',
      bucket: s3.bucket,
      etcdVersion: '3.4.23',
      memberId: status.memberId,
      sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      takenAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    expect(typeof result.size).toBe('number');
    expect(result.durationMs).toBeGreaterThan(0);
    expect(result.totalKeys).toBeGreaterThan(3100);
  });

  it('names the object <cluster>/etcd/<yyyy>/<mm>/<dd>/<stamp>-r<revision>.db after takenAt and the revision', () => {
    const t = result.takenAt as string;
    const stamp = t.replace(/[-:]/g, '');
    const day = t.slice(0, 10).replace(/-/g, '/');
    expect(result.key).toBe(`${CLUSTER}/etcd/${day}/${stamp}-r${result.revision}.db`);
    expect(result.manifestKey).toBe(`${CLUSTER}/etcd/${day}/${stamp}-r${result.revision}.json`);
  });

  it("satisfies the Lambda side's schemas and key parser", () => {
    expect(() => snapshotResult.parse(result)).not.toThrow();
    expect(() => manifestSchema.parse(manifest)).not.toThrow();
    expect(parseSnapshotKey(result.key as string)).toEqual({
      key: result.key,
      cluster: CLUSTER,
      takenAt: new Date(result.takenAt as string),
      revision: result.revision,
    });
  });

  it('uploads the snapshot with its sha256 and revision as metadata', async () => {
    const { body, metadata } = await getBytes(result.key as string);
    expect(body.length).toBe(result.size);
    expect(sha256(body)).toBe(result.sha256);
    expect(metadata).toEqual({ sha256: result.sha256, revision: String(result.revision) });
  });

  it('uploads a JSON manifest that agrees with the result', async () => {
    const head = await s3Client.send(
      new HeadObjectCommand({ Bucket: s3.bucket, Key: result.manifestKey as string }),
    );
    expect(head.ContentType).toBe('application/json');
    expect(Object.keys(manifest).sort()).toEqual(
      [
        'formatVersion',
        'cluster',
        'key',
        'sha256',
        'size',
        'revision',
        'totalKeys',
        'keyCounts',
        'etcdVersion',
        'memberId',
        'memberName',
        'instanceId',
        'takenAt',
        'takenBy',
        'snapshotStatus',
      ].sort(),
    );
    expect(manifest).toMatchObject({
      formatVersion: 1,
      cluster: CLUSTER,
      key: result.key,
      sha256: result.sha256,
      size: result.size,
      revision: result.revision,
      totalKeys: result.totalKeys,
      etcdVersion: '3.4.23',
      memberId: result.memberId,
      memberName: 'member-0',
      instanceId: 'i-0aaaaaaaaaaaaaaa0',
      takenAt: result.takenAt,
      takenBy: EXECUTION_ID,
      snapshotStatus: {
        hash: expect.any(Number),
        revision: result.revision,
        totalKey: expect.any(Number),
        totalSize: expect.any(Number),
      },
    });
    // the seeded resources are exact; events were being written during the run
    expect(manifest.keyCounts).toMatchObject({ ...SEEDED, 'apiregistration.k8s.io': 2 });
  });

  it('records counts that a restore of the uploaded snapshot reproduces exactly', async () => {
    expect(writesDuringRun).toBeGreaterThan(0);
    const file = join(root, 'downloaded.db');
    await writeFile(file, (await getBytes(result.key as string)).body);
    const restored = await etcd.restoreInto(file);
    try {
      expect(await restored.client.registryKeyCounts()).toEqual(manifest.keyCounts);
      expect(await restored.client.totalKeys()).toBe(manifest.totalKeys);
      expect(await restored.client.revision()).toBe(manifest.revision);
    } finally {
      await restored.stop();
    }
  });

  it('leaves the work dir empty', async () => {
    expect(await readdir(workDir)).toEqual([]);
  });
});

describe('etcd-snapshot.sh in crictl mode', () => {
  it('runs every etcdctl call inside the etcd container and writes the snapshot into DataDir', async () => {
    const workDir = await newWorkDir();
    const dataDir = join(root, 'var-lib-etcd');
    await mkdir(dataDir);
    // kubespray-style certificate names: {hostname} is the node's hostname
    const certDir = join(root, 'per-host-certs');
    await mkdir(certDir);
    const node = hostname();
    await copyFile(pki.healthcheckClient.cert, join(certDir, `admin-${node}.pem`));
    await copyFile(pki.healthcheckClient.key, join(certDir, `admin-${node}-key.pem`));
    const log = join(root, 'crictl.log');
    const containerId = 'a1b2c3d4e5f6';

    const run = await runScript('etcd-snapshot', {
      params: params({
        EtcdctlMode: 'crictl',
        DataDir: dataDir,
        CertFile: `${certDir}/admin-{hostname}.pem`,
        KeyFile: `${certDir}/admin-{hostname}-key.pem`,
      }),
      pathPrepend: [STAND_IN_BIN_DIR],
      env: {
        ...s3.cliEnv,
        CARETAKER_AWS_CLI: AWS_CLI,
        CARETAKER_WORK_DIR: workDir,
        CRICTL_LOG: log,
        CRICTL_CONTAINER_ID: containerId,
      },
    });

    expect(run.exitCode).toBe(0);
    const result = run.result!;
    expect(result).toMatchObject({
      bucket: s3.bucket,
      etcdVersion: '3.4.23',
      instanceId: 'i-0123456789abcdef0',
    });
    const { body, metadata } = await getBytes(result.key as string);
    expect(sha256(body)).toBe(result.sha256);
    expect(metadata.revision).toBe(String(result.revision));

    const endpoint = `https://127.0.0.1:${etcd.member(0).clientPort}`;
    const tls = [
      `--endpoints=${endpoint}`,
      `--cacert=${pki.ca.cert}`,
      `--cert=${certDir}/admin-${node}.pem`,
      `--key=${certDir}/admin-${node}-key.pem`,
      '--dial-timeout=5s',
    ];
    const calls = (await readFile(log, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => line.split('\t'));
    const snapFile = expect.stringMatching(
      new RegExp(`^${dataDir}/caretaker-snapshot\\.[A-Za-z0-9]{6}/snapshot\\.db$`),
    );
    const exec = ['exec', containerId, 'etcdctl'];
    expect(calls).toEqual([
      ['ps', '--name', 'etcd', '-q', '--state', 'running'],
      [...exec, ...tls, '--command-timeout=5s', 'endpoint', 'status', '-w', 'fields'],
      [...exec, ...tls, '--command-timeout=5s', 'member', 'list', '-w', 'fields'],
      [...exec, ...tls, '--command-timeout=1200s', 'snapshot', 'save', snapFile],
      [...exec, 'snapshot', 'status', snapFile, '-w', 'json'],
      [
        ...exec,
        ...tls,
        '--command-timeout=300s',
        'get',
        '/registry/',
        '--prefix',
        '--keys-only',
        `--rev=${result.revision}`,
      ],
      [
        ...exec,
        ...tls,
        '--command-timeout=60s',
        'get',
        '',
        '--from-key',
        '--keys-only',
        '-w',
        'json',
        '--limit=1',
        `--rev=${result.revision}`,
      ],
    ]);
    // the same file is saved and then inspected
    expect(calls[3]?.[calls[3].length - 1]).toBe(calls[4]?.[5]);
    expect(await readdir(dataDir)).toEqual([]);
    expect(await readdir(workDir)).toEqual([]);
  });

  it('fails when no etcd container is running, and uploads nothing', async () => {
    const workDir = await newWorkDir();
    const before = await objectKeys();
    const run = await runScript('etcd-snapshot', {
      params: params({ EtcdctlMode: 'crictl', DataDir: root }),
      pathPrepend: [STAND_IN_BIN_DIR],
      env: {
        ...s3.cliEnv,
        CARETAKER_AWS_CLI: AWS_CLI,
        CARETAKER_WORK_DIR: workDir,
        CRICTL_NO_CONTAINER: '1',
      },
    });
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toContain('no running etcd container');
    expect(run.result).toBeUndefined();
    expect(await objectKeys()).toEqual(before);
    expect(await readdir(workDir)).toEqual([]);
  });
});

describe('etcd-snapshot.sh failures', () => {
  it('fails with a clear message when the CA does not match, and uploads nothing', async () => {
    const otherPki = await generateEtcdPki(join(root, 'other-pki'));
    const workDir = await newWorkDir();
    const before = await objectKeys();

    const run = await snapshot(workDir, { CaFile: otherPki.ca.cert });

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/error: cannot reach etcd at https:\/\/127\.0\.0\.1:\d+: .*certificate/);
    expect(run.stdout).toBe('');
    expect(await objectKeys()).toEqual(before);
    expect(await readdir(workDir)).toEqual([]);
  });

  it('fails with a clear message when nothing listens on the endpoint, and uploads nothing', async () => {
    const [closedPort] = await freePorts(1);
    const workDir = await newWorkDir();
    const before = await objectKeys();

    const run = await snapshot(workDir, { EtcdPort: String(closedPort) });

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`error: cannot reach etcd at https://127.0.0.1:${closedPort}`);
    expect(run.stdout).toBe('');
    expect(await objectKeys()).toEqual(before);
    expect(await readdir(workDir)).toEqual([]);
  });

  it('fails when the upload is refused, and leaves no local copy', async () => {
    const workDir = await newWorkDir();
    const before = await objectKeys();

    const run = await snapshot(workDir, { Bucket: 'no-such-bucket' });

    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/error: upload of s3:\/\/no-such-bucket\/prod-eu\/etcd\/.*\.db failed/);
    expect(await objectKeys()).toEqual(before);
    expect(await readdir(workDir)).toEqual([]);
  });

  it.each([
    ['Bucket', 'my bucket'],
    ['Cluster', 'prod;reboot'],
    ['CaFile', '/etc/kubernetes/pki/etcd/$(id).crt'],
    ['EtcdctlMode', 'docker'],
    ['ExecutionId', 'run`id`'],
    ['EtcdPort', '99999'],
  ])('rejects %s=%j before touching etcd, naming the parameter', async (name, value) => {
    const workDir = await newWorkDir();
    const run = await snapshot(workDir, { [name]: value });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain(`parameter ${name} is invalid`);
    expect(run.stdout).toBe('');
    expect(await readdir(workDir)).toEqual([]);
  });

  it('rejects a missing parameter, pointing at the SSM Agent version', async () => {
    const workDir = await newWorkDir();
    const rest = Object.fromEntries(Object.entries(params()).filter(([name]) => name !== 'ExecutionId'));
    const run = await runScript('etcd-snapshot', {
      params: rest,
      env: { ...s3.cliEnv, CARETAKER_AWS_CLI: AWS_CLI, CARETAKER_WORK_DIR: workDir },
    });
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toContain('parameter ExecutionId is missing');
    expect(run.stderr).toContain('3.3.2746.0');
  });
});
