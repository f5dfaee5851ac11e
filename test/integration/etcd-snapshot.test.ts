import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import {
  copyFile,
  mkdir,
  mkdtemp,
  readdir,
  readFile,
  rm,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { manifest as manifestSchema, snapshotResult } from '../../functions/shared/domain/schemas';
import { parseSnapshotKey } from '../../functions/shared/domain/snapshot-key';
import { freePorts, registryKeys, startEtcdCluster, type EtcdCluster } from '../../sandbox/etcd-cluster';
import { etcdVersionsUnderTest, type EtcdBinaries } from '../../sandbox/etcd-versions';
import { generateEtcdPki, type EtcdPki } from '../../sandbox/pki';
import { runScript, type ScriptRun } from '../../sandbox/run-script';
import { startLocalS3, type LocalS3 } from '../../sandbox/s3rver';
import { crictlImageEnv, STAND_IN_BIN_DIR } from '../support/stand-ins';

jest.setTimeout(60_000);

const AWS_CLI = '/usr/bin/aws';
const CLUSTER = 'prod-eu';
const EXECUTION_ID =
  'arn:aws:states:eu-west-1:123456789012:execution:caretaker-etcd-backup:scheduled-20260101T0000Z';
/** namespaces: /registry/namespaces/{default,kube-system,apps,monitoring}, as a cluster has them */
const SEEDED = { namespaces: 4, pods: 1500, configmaps: 700, secrets: 500, deployments: 250, services: 150 };
const VERSIONS = etcdVersionsUnderTest();

/** one S3 request as the node's AWS CLI sent it */
interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  bodySha256: string;
}

/**
 * S3 as far as these tests need it: s3rver behind a recording proxy, so a test sees the headers
 * the AWS CLI sent (s3rver ignores x-amz-checksum-*; real S3 checks them).
 */
let s3: LocalS3;
let s3Client: S3Client;
let proxy: Server;
let proxyEndpoint: string;
const requests: RecordedRequest[] = [];
let pki: EtcdPki;
let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'caretaker-snapshot-test-'));
  pki = await generateEtcdPki(join(root, 'pki'));
  s3 = await startLocalS3();
  s3Client = s3.client();
  const target = new URL(s3.endpoint);
  proxy = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      requests.push({
        method: req.method ?? '',
        path: decodeURIComponent((req.url ?? '').split('?')[0] ?? ''),
        headers: req.headers,
        bodySha256: createHash('sha256').update(body).digest('base64'),
      });
      const forward = request(
        { host: target.hostname, port: target.port, method: req.method, path: req.url, headers: req.headers },
        (upstream) => {
          res.writeHead(upstream.statusCode ?? 502, upstream.headers);
          upstream.pipe(res);
        },
      );
      forward.on('error', () => res.destroy());
      forward.end(body);
    });
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', () => resolve()));
  proxyEndpoint = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
});

afterAll(async () => {
  s3Client?.destroy();
  if (proxy) {
    proxy.closeAllConnections();
    await new Promise<void>((resolve) => proxy.close(() => resolve()));
  }
  await s3?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

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

/** `<tool> version` → 3.x.y */
function versionOf(tool: string): string {
  const out = execFileSync(tool, ['version'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
  const version = /version: (\d+\.\d+\.\d+)/.exec(out)?.[1];
  if (!version) throw new Error(`no version in: ${out}`);
  return version;
}

/** the tool that must read snapshot files on `binaries`' etcd, and its version */
function expectedTool(binaries: EtcdBinaries): { name: string; version: string } {
  return binaries.etcdutl
    ? { name: 'etcdutl', version: versionOf(binaries.etcdutl) }
    : { name: 'etcdctl', version: versionOf(binaries.etcdctl) };
}

/** polls until every member reports `StorageVersion` (etcd 3.6+) */
async function waitForStorageVersion(etcd: EtcdCluster, expected: string): Promise<void> {
  for (let i = 0; ; i++) {
    const out = await etcd.client().run(['endpoint', 'status', '-w', 'fields']);
    const seen = [...out.matchAll(/"StorageVersion" : "([^"]*)"/g)].map((m) => m[1]);
    if (seen.length === etcd.members.length && seen.every((v) => v === expected)) return;
    if (i > 100) throw new Error(`no storage version ${expected} after 10 s: ${seen.join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe.each(VERSIONS.map((b) => [b.version, b] as const))(
  'etcd-snapshot.sh on etcd %s',
  (version, binaries) => {
    let dir: string;
    let etcd: EtcdCluster;
    const tool = expectedTool(binaries);
    const storageVersion = version === '3.6' ? '3.6.0' : null;

    beforeAll(async () => {
      dir = await mkdtemp(join(root, `etcd-${version}-`));
      etcd = await startEtcdCluster({ pki, binaries, dir: join(dir, 'etcd') });
      await etcd.seed([
        ...registryKeys(SEEDED),
        // a group-qualified resource and keys outside /registry: counted in totalKeys only
        '/registry/apiregistration.k8s.io/apiservices/v1.apps',
        '/registry/apiregistration.k8s.io/apiservices/v1.batch',
        // '.' sorts before '/': deployments.apps comes before deployments in etcd's key order
        '/registry/deployments.apps/default/web',
        '/compact_rev_key',
        '/caretaker/marker',
      ]);
      // history: rewrite some keys so the revision runs ahead of the key count
      await etcd.seed(registryKeys({ pods: 300 }));
      // 3.6 settles its storage version just after start; a live cluster has it long before
      if (storageVersion !== null) await waitForStorageVersion(etcd, storageVersion);
    });

    afterAll(async () => {
      await etcd?.stop();
    });

    /** a fresh, empty CARETAKER_WORK_DIR per run, so "left nothing behind" is checkable */
    const newWorkDir = (): Promise<string> => mkdtemp(join(dir, 'work-'));

    function params(overrides: Record<string, string> = {}): Record<string, string> {
      return {
        Cluster: CLUSTER,
        Bucket: s3.bucket,
        EtcdPort: String(etcd.member(0).clientPort),
        CaFile: pki.ca.cert,
        CertFile: pki.healthcheckClient.cert,
        KeyFile: pki.healthcheckClient.key,
        EtcdctlMode: 'host',
        DataDir: join(dir, 'unused-data-dir'),
        ExecutionId: EXECUTION_ID,
        ...overrides,
      };
    }

    function snapshot(
      workDir: string,
      overrides: Record<string, string> = {},
      env: Record<string, string> = {},
    ) {
      return runScript('etcd-snapshot', {
        params: params(overrides),
        instanceId: 'i-0aaaaaaaaaaaaaaa0',
        pathPrepend: [binaries.binDir],
        env: {
          ...s3.cliEnv,
          CARETAKER_S3_ENDPOINT_URL: proxyEndpoint,
          CARETAKER_AWS_CLI: AWS_CLI,
          CARETAKER_WORK_DIR: workDir,
          ...env,
        },
      });
    }

    /** crictl mode: the stand-in's "etcd container" carries this version's etcdctl and etcdutl */
    function snapshotInContainer(
      workDir: string,
      dataDir: string,
      overrides: Record<string, string> = {},
      env: Record<string, string> = {},
    ) {
      return runScript('etcd-snapshot', {
        params: params({ EtcdctlMode: 'crictl', DataDir: dataDir, ...overrides }),
        pathPrepend: [STAND_IN_BIN_DIR],
        env: {
          ...s3.cliEnv,
          ...crictlImageEnv(binaries),
          CARETAKER_S3_ENDPOINT_URL: proxyEndpoint,
          CARETAKER_AWS_CLI: AWS_CLI,
          CARETAKER_WORK_DIR: workDir,
          ...env,
        },
      });
    }

    describe('in host mode against a 3-member TLS cluster', () => {
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
            await etcd.seed(Array.from({ length: 40 }, (_, i) => `/registry/events/default/e-${batch}-${i}`));
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
            'snapshotTool',
            'memberId',
            'takenAt',
            'durationMs',
          ].sort(),
        );
        expect(result).toMatchObject({
          instanceId: 'i-0aaaaaaaaaaaaaaa0',
          bucket: s3.bucket,
          etcdVersion: status.version,
          snapshotTool: tool,
          memberId: status.memberId,
          sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
          takenAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
        });
        expect(status.version.startsWith(`${version}.`)).toBe(true);
        expect(typeof result.size).toBe('number');
        expect(result.durationMs).toBeGreaterThan(0);
        expect(result.totalKeys).toBeGreaterThan(3100);
      });

      it(`reads the snapshot file with ${tool.name}: etcdutl where it exists (3.5+), etcdctl only on 3.4`, () => {
        expect(run.stderr).toContain(`snapshot files are read with ${tool.name} ${tool.version}`);
        expect(manifest.snapshotTool).toEqual(tool);
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
          series: 'main',
        });
      });

      it('uploads the snapshot with its sha256 and revision as metadata', async () => {
        const { body, metadata } = await getBytes(result.key as string);
        expect(body.length).toBe(result.size);
        expect(sha256(body)).toBe(result.sha256);
        expect(metadata).toEqual({ sha256: result.sha256, revision: String(result.revision) });
      });

      it('sends the sha256 of each upload as x-amz-checksum-sha256, which S3 checks (and Object Lock requires)', () => {
        const puts = requests.filter(
          (r) => r.method === 'PUT' && [result.key, result.manifestKey].some((k) => r.path.endsWith(`/${k}`)),
        );
        expect(puts.map((r) => r.path)).toEqual([
          `/${s3.bucket}/${result.key}`,
          `/${s3.bucket}/${result.manifestKey}`,
        ]);
        for (const put of puts) {
          expect(put.headers['x-amz-checksum-sha256']).toBe(put.bodySha256);
        }
        expect(puts[0]!.headers['x-amz-checksum-sha256']).toBe(
          Buffer.from(result.sha256 as string, 'hex').toString('base64'),
        );
      });

      it('uploads a formatVersion 2 JSON manifest that agrees with the result', async () => {
        const head = await s3Client.send(
          new HeadObjectCommand({ Bucket: s3.bucket, Key: result.manifestKey as string }),
        );
        expect(head.ContentType).toBe('application/json');
        expect(Object.keys(manifest)).toEqual([
          'formatVersion',
          'kind',
          'cluster',
          'key',
          'sha256',
          'size',
          'revision',
          'totalKeys',
          'keyCounts',
          'etcdVersion',
          'storageVersion',
          'snapshotTool',
          'etcdPrefix',
          'memberId',
          'memberName',
          'instanceId',
          'takenAt',
          'takenBy',
          'snapshotStatus',
        ]);
        expect(manifest).toEqual({
          formatVersion: 2,
          kind: 'etcd',
          cluster: CLUSTER,
          key: result.key,
          sha256: result.sha256,
          size: result.size,
          revision: result.revision,
          totalKeys: result.totalKeys,
          keyCounts: expect.any(Object),
          etcdVersion: result.etcdVersion,
          storageVersion,
          snapshotTool: tool,
          etcdPrefix: '/registry',
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
        expect(manifest.keyCounts).toMatchObject({
          ...SEEDED,
          'apiregistration.k8s.io': 2,
          'deployments.apps': 1,
        });
      });

      it('records counts and a hash that a restore of the uploaded snapshot reproduces exactly', async () => {
        expect(writesDuringRun).toBeGreaterThan(0);
        const file = join(dir, 'downloaded.db');
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

    describe('in crictl mode', () => {
      it(`runs every etcd tool (${tool.name} reads the file) inside the etcd container and writes the snapshot into DataDir`, async () => {
        const workDir = await newWorkDir();
        const dataDir = join(dir, 'var-lib-etcd');
        await mkdir(dataDir);
        // kubespray-style certificate names: {hostname} is the node's hostname
        const certDir = join(dir, 'per-host-certs');
        await mkdir(certDir);
        const node = hostname();
        await copyFile(pki.healthcheckClient.cert, join(certDir, `admin-${node}.pem`));
        await copyFile(pki.healthcheckClient.key, join(certDir, `admin-${node}-key.pem`));
        const log = join(dir, 'crictl.log');
        const containerId = 'a1b2c3d4e5f6';

        const run = await snapshotInContainer(
          workDir,
          dataDir,
          { CertFile: `${certDir}/admin-{hostname}.pem`, KeyFile: `${certDir}/admin-{hostname}-key.pem` },
          { CRICTL_LOG: log, CRICTL_CONTAINER_ID: containerId },
        );

        if (run.exitCode !== 0 || !run.result) throw new Error(explain(run));
        const result = run.result;
        expect(result).toMatchObject({
          bucket: s3.bucket,
          snapshotTool: tool,
          instanceId: 'i-0123456789abcdef0',
        });
        const { body, metadata } = await getBytes(result.key as string);
        expect(sha256(body)).toBe(result.sha256);
        expect(metadata.revision).toBe(String(result.revision));
        const manifest = JSON.parse((await getBytes(result.manifestKey as string)).body.toString('utf8'));
        expect(manifest).toMatchObject({ snapshotTool: tool, storageVersion });

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
        const exec = ['exec', containerId];
        const rev = `--rev=${result.revision}`;
        const ranged = (from: string) => [
          ...exec,
          'etcdctl',
          ...tls,
          '--command-timeout=60s',
          'get',
          from,
          '/registry0',
          '--keys-only',
          '--limit=1',
          '-w',
          'json',
          rev,
        ];
        // in etcd's key order: '.' sorts before '/', so deployments.apps/ comes before deployments/
        const resources = Object.keys(manifest.keyCounts).sort((a, b) => (`${a}/` < `${b}/` ? -1 : 1));
        expect(calls).toEqual([
          ['ps', '--name', 'etcd', '-q', '--state', 'running'],
          [...exec, 'etcdctl', ...tls, '--command-timeout=5s', 'endpoint', 'status', '-w', 'fields'],
          [...exec, 'etcdctl', ...tls, '--command-timeout=5s', 'member', 'list', '-w', 'fields'],
          // the tool is chosen once: etcdutl where the image has it, etcdctl otherwise
          [...exec, 'etcdutl', 'version'],
          ...(tool.name === 'etcdctl' ? [[...exec, 'etcdctl', 'version']] : []),
          [
            ...exec,
            'etcdctl',
            ...tls,
            expect.stringMatching(/^--command-timeout=1[0-9]{3}s$/),
            'snapshot',
            'save',
            snapFile,
          ],
          [...exec, tool.name, 'snapshot', 'status', snapFile, '-w', 'json'],
          [
            ...exec,
            'etcdctl',
            ...tls,
            '--command-timeout=10s',
            'get',
            '/registry/namespaces/default',
            '--keys-only',
            '-w',
            'json',
            rev,
          ],
          [
            ...exec,
            'etcdctl',
            ...tls,
            '--command-timeout=10s',
            'get',
            '/registry/namespaces/kube-system',
            '--keys-only',
            '-w',
            'json',
            rev,
          ],
          // one ranged read per resource and one that finds nothing more: no listing of every key
          ranged('/registry/'),
          ...resources.map((r) => ranged(`/registry/${r}0`)),
          [
            ...exec,
            'etcdctl',
            ...tls,
            '--command-timeout=60s',
            'get',
            '',
            '--from-key',
            '--keys-only',
            '-w',
            'json',
            '--limit=1',
            rev,
          ],
        ]);
        // the same file is saved and then inspected
        const save = calls.find((c) => c.includes('save'))!;
        const status = calls.find((c) => c.includes('status') && c.includes('snapshot'))!;
        expect(save[save.length - 1]).toBe(status[status.length - 3]);
        expect(await readdir(dataDir)).toEqual([]);
        expect(await readdir(workDir)).toEqual([]);
      });

      it(`without etcdutl in the image ${version === '3.6' ? 'refuses before saving: 3.6 etcdctl cannot read a snapshot' : 'falls back to etcdctl, which still reads snapshots before 3.6'}`, async () => {
        // an "image" with this version's etcdctl only
        const image = await mkdtemp(join(dir, 'image-'));
        await symlink(binaries.etcdctl, join(image, 'etcdctl'));
        const workDir = await newWorkDir();
        const dataDir = await mkdtemp(join(dir, 'data-'));
        const log = join(image, 'crictl.log');
        const before = await objectKeys();

        const run = await snapshotInContainer(
          workDir,
          dataDir,
          {},
          { CRICTL_ETCD_BIN_DIR: image, CRICTL_LOG: log },
        );

        const calls = (await readFile(log, 'utf8')).trim().split('\n');
        if (version === '3.6') {
          expect(run.exitCode).toBe(1);
          expect(run.stderr).toMatch(
            /error: etcdctl 3\.6\.\d+ has no 'snapshot status' \(etcd 3\.6 moved it to etcdutl\), and etcdutl is not in the etcd container \w+/,
          );
          expect(calls.some((c) => c.includes('\tsave\t'))).toBe(false);
          expect(await objectKeys()).toEqual(before);
        } else {
          if (run.exitCode !== 0 || !run.result) throw new Error(explain(run));
          expect(run.result.snapshotTool).toEqual({ name: 'etcdctl', version: versionOf(binaries.etcdctl) });
        }
        expect(await readdir(dataDir)).toEqual([]);
        expect(await readdir(workDir)).toEqual([]);
      });

      it('fails when no etcd container is running, and uploads nothing', async () => {
        const workDir = await newWorkDir();
        const before = await objectKeys();
        const run = await snapshotInContainer(workDir, dir, {}, { CRICTL_NO_CONTAINER: '1' });
        expect(run.exitCode).not.toBe(0);
        expect(run.stderr).toContain('no running etcd container');
        expect(run.result).toBeUndefined();
        expect(await objectKeys()).toEqual(before);
        expect(await readdir(workDir)).toEqual([]);
      });
    });

    describe('refusing what is not a Kubernetes backup', () => {
      it('refuses a snapshot of an etcd without Kubernetes namespaces (an events etcd, a Cilium kvstore), uploading nothing', async () => {
        // a kops-style events etcd that also holds a Cilium kvstore: /registry data, but no namespaces
        const other = await startEtcdCluster({ pki, binaries, size: 1, dir: join(dir, 'events-etcd') });
        try {
          await other.seed([
            ...Array.from({ length: 50 }, (_, i) => `/registry/events/default/pod-${i}.17a`),
            'cilium/state/identities/v1/id/12345',
            'cilium/state/nodes/v1/default/node-1',
            'cilium/.heartbeat',
          ]);
          const workDir = await newWorkDir();
          const before = await objectKeys();

          const run = await snapshot(workDir, { EtcdPort: String(other.member(0).clientPort) });

          expect(run.exitCode).toBe(1);
          expect(run.stdout).toBe('');
          expect(run.stderr).toMatch(
            /error: refusing to upload: the snapshot at revision \d+ holds no Kubernetes data \(no \/registry\/namespaces\/default and no \/registry\/namespaces\/kube-system key\)/,
          );
          expect(run.stderr).toContain('an events etcd, a Cilium kvstore or an empty member');
          expect(run.stderr).toContain('--etcd-prefix');
          expect(await objectKeys()).toEqual(before);
          expect(await readdir(workDir)).toEqual([]);
        } finally {
          await other.stop();
        }
      });

      it('refuses when the API server uses another prefix than EtcdPrefix', async () => {
        const workDir = await newWorkDir();
        const before = await objectKeys();
        const run = await snapshot(workDir, { EtcdPrefix: '/kubernetes.io' });
        expect(run.exitCode).toBe(1);
        expect(run.stderr).toContain(
          'no /kubernetes.io/namespaces/default and no /kubernetes.io/namespaces/kube-system key',
        );
        expect(run.stderr).toContain('another --etcd-prefix than EtcdPrefix /kubernetes.io');
        expect(await objectKeys()).toEqual(before);
      });

      it('refuses a keyspace that has only one of the two namespaces every cluster has, naming the missing one', async () => {
        await etcd.seed(['/half/namespaces/default', '/half/pods/default/a']);
        const workDir = await newWorkDir();
        const before = await objectKeys();
        const run = await snapshot(workDir, { EtcdPrefix: '/half' });
        expect(run.exitCode).toBe(1);
        expect(run.stderr).toContain('holds no Kubernetes data (no /half/namespaces/kube-system key)');
        expect(await objectKeys()).toEqual(before);
        expect(await readdir(workDir)).toEqual([]);
      });

      it('counts under a configured EtcdPrefix, also keys right under it (by listing them)', async () => {
        await etcd.seed([
          '/custom/prefix/namespaces/default',
          '/custom/prefix/namespaces/kube-system',
          '/custom/prefix/pods/kube-system/a',
          '/custom/prefix/pods/kube-system/b',
          '/custom/prefix/pods.metrics.k8s.io/kube-system/a',
          // no resource path: only a listing can attribute this one
          '/custom/prefix/health',
        ]);
        const workDir = await newWorkDir();

        const run = await snapshot(workDir, { EtcdPrefix: '/custom/prefix' });

        if (run.exitCode !== 0 || !run.result) throw new Error(explain(run));
        expect(run.stderr).toContain('counting by listing every key');
        const manifest = JSON.parse((await getBytes(run.result.manifestKey as string)).body.toString('utf8'));
        expect(manifest).toMatchObject({
          etcdPrefix: '/custom/prefix',
          keyCounts: { namespaces: 2, pods: 2, 'pods.metrics.k8s.io': 1, health: 1 },
        });
        expect(Object.keys(manifest.keyCounts)).toHaveLength(4);
      });
    });

    describe('leftovers and the time budget', () => {
      it('removes work dirs and DataDir snapshots that killed runs left, older than the document timeout, and nothing else', async () => {
        const workDir = await newWorkDir();
        const dataDir = await mkdtemp(join(dir, 'data-'));
        const twoHoursAgo = new Date(Date.now() - 2 * 3600_000);
        const make = async (parent: string, name: string, old: boolean): Promise<string> => {
          const path = join(parent, name);
          await mkdir(path);
          await writeFile(join(path, 'snapshot.db'), 'plaintext secrets');
          if (old) await utimes(path, twoHoursAgo, twoHoursAgo);
          return path;
        };
        const oldWork = await make(workDir, 'caretaker-etcd-snapshot.Old123', true);
        const oldSnap = await make(dataDir, 'caretaker-snapshot.Old456', true);
        // a run still going, and things that are not this script's
        const running = await make(workDir, 'caretaker-etcd-snapshot.New789', false);
        const others = [
          await make(workDir, 'caretaker-etcd-restore-verify.Old000', true),
          await make(dataDir, 'member', true),
        ];

        const run = await snapshotInContainer(workDir, dataDir);

        if (run.exitCode !== 0) throw new Error(explain(run));
        expect(run.stderr).toContain(`removing ${oldWork}, left by an earlier run`);
        expect(run.stderr).toContain(`removing ${oldSnap}, left by an earlier run`);
        expect(existsSync(oldWork)).toBe(false);
        expect(existsSync(oldSnap)).toBe(false);
        for (const kept of [running, ...others]) expect(existsSync(kept)).toBe(true);
        expect((await readdir(workDir)).sort()).toEqual(
          ['caretaker-etcd-restore-verify.Old000', 'caretaker-etcd-snapshot.New789'].sort(),
        );
        expect(await readdir(dataDir)).toEqual(['member']);
      });

      it('stops a step that would outlive the time budget, cleans up and uploads nothing', async () => {
        const workDir = await newWorkDir();
        const dataDir = await mkdtemp(join(dir, 'data-'));
        const before = await objectKeys();

        const run = await snapshotInContainer(
          workDir,
          dataDir,
          {},
          // a database that takes a minute to stream, under a 3 s budget
          { CRICTL_SLOW_SNAPSHOT_SAVE: '60', CARETAKER_TIMEOUT_SECONDS: '3' },
        );

        expect(run.exitCode).toBe(1);
        expect(run.durationMs).toBeLessThan(10_000);
        expect(run.stderr).toMatch(
          /stopped etcdctl \(in the container\) after \d s: the 3 s time budget ran out/,
        );
        expect(run.stderr).toContain('error: snapshot save from');
        expect(await readdir(dataDir)).toEqual([]);
        expect(await readdir(workDir)).toEqual([]);
        expect(await objectKeys()).toEqual(before);
      });

      it('cleans up when the command is cancelled (SIGTERM) in the middle of a step', async () => {
        const workDir = await newWorkDir();
        const dataDir = await mkdtemp(join(dir, 'data-'));
        const pidFile = join(dir, 'save.pid');
        const before = await objectKeys();

        const running = snapshotInContainer(
          workDir,
          dataDir,
          {},
          { CRICTL_SLOW_SNAPSHOT_SAVE: '60', CRICTL_SAVE_PID_FILE: pidFile },
        );
        // the stand-in's parent is timeout, whose parent is the script
        let saver = 0;
        for (let i = 0; i < 200 && !saver; i++) {
          await new Promise((resolve) => setTimeout(resolve, 50));
          if (existsSync(pidFile)) saver = Number((await readFile(pidFile, 'utf8')).trim());
        }
        const parentOf = (pid: number): number =>
          Number(/PPid:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
        const script = parentOf(parentOf(saver));
        expect(readFileSync(`/proc/${script}/cmdline`, 'utf8')).toContain('etcd-snapshot.sh');
        process.kill(script, 'SIGTERM');
        const run = await running;

        expect(run.exitCode).toBe(143);
        expect(run.stderr).toContain('stopped by a signal');
        expect(existsSync(`/proc/${saver}`)).toBe(false);
        expect(await readdir(dataDir)).toEqual([]);
        expect(await readdir(workDir)).toEqual([]);
        expect(await objectKeys()).toEqual(before);
      });
    });

    describe('failures', () => {
      it('fails with a clear message when it cannot reach etcd (a CA that does not match, nothing listening), uploading nothing', async () => {
        const otherPki = await generateEtcdPki(join(dir, 'other-pki'));
        const [closedPort] = await freePorts(1);
        const workDirs = [await newWorkDir(), await newWorkDir()];
        const before = await objectKeys();

        // side by side: the closed port costs etcdctl's whole 5 s dial timeout
        const [wrongCa, closed] = await Promise.all([
          snapshot(workDirs[0]!, { CaFile: otherPki.ca.cert }),
          snapshot(workDirs[1]!, { EtcdPort: String(closedPort) }),
        ]);

        expect(wrongCa.exitCode).toBe(1);
        expect(wrongCa.stderr).toMatch(
          /error: cannot reach etcd at https:\/\/127\.0\.0\.1:\d+: .*certificate/,
        );
        expect(closed.exitCode).toBe(1);
        expect(closed.stderr).toContain(`error: cannot reach etcd at https://127.0.0.1:${closedPort}`);
        for (const run of [wrongCa, closed]) expect(run.stdout).toBe('');
        expect(await objectKeys()).toEqual(before);
        for (const workDir of workDirs) expect(await readdir(workDir)).toEqual([]);
      });

      it('fails when the upload is refused, and leaves no local copy', async () => {
        const workDir = await newWorkDir();
        const before = await objectKeys();

        const run = await snapshot(workDir, { Bucket: 'no-such-bucket' });

        expect(run.exitCode).toBe(1);
        expect(run.stderr).toMatch(
          /error: upload of s3:\/\/no-such-bucket\/prod-eu\/etcd\/.*\.db failed: .*NoSuchBucket/,
        );
        expect(await objectKeys()).toEqual(before);
        expect(await readdir(workDir)).toEqual([]);
      });

      it('fails clearly when a snapshot too big for one PUT meets an AWS CLI that cannot checksum its parts', async () => {
        const workDir = await newWorkDir();
        const before = await objectKeys();

        // /usr/bin/aws 2.9.19: `s3 cp --checksum-algorithm` arrived in 2.18
        const run = await snapshot(workDir, {}, { CARETAKER_SINGLE_PUT_MAX_BYTES: '1' });

        expect(run.exitCode).toBe(1);
        expect(run.stderr).toMatch(
          /error: upload of s3:\/\/.*\.db failed: a snapshot over 1 bytes goes up in parts, and this AWS CLI \(aws-cli\/2\.9\.19 .*\) cannot send their checksums; AWS CLI 2\.18 or later can/,
        );
        expect(await objectKeys()).toEqual(before);
        expect(await readdir(workDir)).toEqual([]);
      });
    });
  },
);

describe('etcd-snapshot.sh parameters', () => {
  function params(overrides: Record<string, string> = {}): Record<string, string> {
    return {
      Cluster: CLUSTER,
      Bucket: s3.bucket,
      EtcdPort: '2379',
      CaFile: pki.ca.cert,
      CertFile: pki.healthcheckClient.cert,
      KeyFile: pki.healthcheckClient.key,
      EtcdctlMode: 'host',
      DataDir: join(root, 'unused-data-dir'),
      ExecutionId: EXECUTION_ID,
      ...overrides,
    };
  }
  const run = async (p: Record<string, string>) => {
    const workDir = await mkdtemp(join(root, 'work-'));
    const result = await runScript('etcd-snapshot', {
      params: p,
      pathPrepend: [VERSIONS[0]!.binDir],
      env: { ...s3.cliEnv, CARETAKER_AWS_CLI: AWS_CLI, CARETAKER_WORK_DIR: workDir },
    });
    return { result, workDir };
  };

  it.each([
    ['Bucket', 'my bucket'],
    ['Cluster', 'prod;reboot'],
    ['CaFile', '/etc/kubernetes/pki/etcd/$(id).crt'],
    ['EtcdctlMode', 'docker'],
    ['ExecutionId', 'run`id`'],
    ['EtcdPort', '99999'],
    ['EtcdPrefix', '/registry/'],
    ['EtcdPrefix', 'registry'],
    ['EtcdPrefix', '/registry/$(reboot)'],
  ])('rejects %s=%j before touching etcd, naming the parameter', async (name, value) => {
    const { result, workDir } = await run(params({ [name]: value }));
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain(`parameter ${name} is invalid`);
    expect(result.stdout).toBe('');
    expect(await readdir(workDir)).toEqual([]);
  });

  it('rejects a missing parameter, pointing at the SSM Agent version', async () => {
    const rest = Object.fromEntries(Object.entries(params()).filter(([name]) => name !== 'ExecutionId'));
    const { result } = await run(rest);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('parameter ExecutionId is missing');
    expect(result.stderr).toContain('3.3.2746.0');
  });
});

describe("the Lambda side's manifest schema", () => {
  const v1 = {
    formatVersion: 1,
    cluster: CLUSTER,
    key: `${CLUSTER}/etcd/2026/01/01/20260101T000000Z-r42.db`,
    sha256: 'a'.repeat(64),
    size: 20480,
    revision: 42,
    totalKeys: 10,
    keyCounts: { pods: 3 },
    etcdVersion: '3.4.23',
    memberId: '1',
    memberName: 'm',
    instanceId: 'i-0123456789abcdef0',
    takenAt: '2026-01-01T00:00:00Z',
    takenBy: 'manual',
    snapshotStatus: { hash: 1, revision: 42, totalKey: 19, totalSize: 20480 },
  };

  it('still parses the formatVersion 1 manifests earlier backups wrote', () => {
    expect(manifestSchema.parse(v1)).toMatchObject({ formatVersion: 1, revision: 42 });
  });

  it('rejects a formatVersion 2 manifest without the fields version 2 promises, naming them', () => {
    const parsed = manifestSchema.safeParse({ ...v1, formatVersion: 2 });
    expect(parsed.success).toBe(false);
    expect(parsed.error?.issues.map((i) => i.path.join('.')).sort()).toEqual(
      ['etcdPrefix', 'snapshotTool', 'storageVersion'].sort(),
    );
  });
});
