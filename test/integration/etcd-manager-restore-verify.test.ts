/**
 * etcd-restore-verify.sh with Source etcd-manager: kops' own backups (etcd.backup.gz and
 * _etcd_backup.meta in the state store, laid out as etcd-manager writes them) made from a real etcd
 * cluster, restored and checked on a "scratch instance"; damaged ones do not verify.
 */
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { verificationResult } from '../../functions/shared/domain/schemas';
import { freePorts, startEtcdCluster, type EtcdCluster } from '../../sandbox/etcd-cluster';
import { writeEtcdManagerBackup } from '../../sandbox/etcd-manager-backups';
import { etcdVersionsUnderTest } from '../../sandbox/etcd-versions';
import { generateEtcdPki, type EtcdPki } from '../../sandbox/pki';
import { runScript, type ScriptRun } from '../../sandbox/run-script';
import { startLocalS3, type LocalS3 } from '../../sandbox/s3rver';
import { toolVersion } from '../support/stand-ins';

jest.setTimeout(180_000);

const AWS_CLI = '/usr/bin/aws';
const BASE = 'kops-state/prod.k8s.example.com';
const VERSIONS = etcdVersionsUnderTest();

let root: string;
let pki: EtcdPki;
let s3: LocalS3;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'caretaker-em-verify-test-'));
  pki = await generateEtcdPki(join(root, 'pki'));
  s3 = await startLocalS3({ bucket: 'kops-state-store' });
});

afterAll(async () => {
  await s3?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

/** waits (up to 60 s) until the member reports a storage version: etcd 3.6 sets it after start */
async function storageVersionWritten(etcd: EtcdCluster): Promise<void> {
  for (let i = 0; i < 120; i++) {
    const status = await etcd.client().run(['endpoint', 'status', '-w', 'json']);
    if (/"storageVersion":"3\.6/.test(status)) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error('etcd 3.6 reported no storage version within 60 s');
}

function explain(run: ScriptRun): string {
  return `exit ${run.exitCode}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}

describe.each(VERSIONS.map((b) => [b.version, b] as const))(
  'verifying etcd-manager backups on etcd %s',
  (version, binaries) => {
    let etcd: EtcdCluster;
    let full: string;
    let mainSnapshot: string;
    let eventsSnapshot: string;
    let sequence = 0;
    let second = 0;

    beforeAll(async () => {
      const dir = await mkdtemp(join(root, `etcd-${version}-`));
      etcd = await startEtcdCluster({ pki, binaries, size: 1, dir });
      full = toolVersion(binaries.etcdctl);
      // etcd 3.6 writes its storage version into the backend a moment after it starts; a
      // snapshot taken before that carries none (and then proves nothing about the meta)
      if (version === '3.6') await storageVersionWritten(etcd);
      await etcd.seed([
        '/registry/namespaces/default',
        '/registry/namespaces/kube-system',
        '/registry/pods/a/b',
      ]);
      mainSnapshot = join(dir, 'main.db');
      await etcd.client().run(['snapshot', 'save', mainSnapshot]);
      // an "events etcd": the same member after its namespaces are gone and events arrived
      await etcd.client().run(['del', '/registry/', '--prefix']);
      await etcd.seed(['/registry/events/default/pod-a.1', '/registry/events/default/pod-a.2']);
      eventsSnapshot = join(dir, 'events.db');
      await etcd.client().run(['snapshot', 'save', eventsSnapshot]);
    });

    afterAll(async () => {
      await etcd?.stop();
    });

    async function backup(
      options: { cluster?: 'main' | 'events'; data?: Buffer; meta?: string; file?: string } = {},
    ) {
      sequence += 1;
      second += 1;
      return writeEtcdManagerBackup({
        client: s3.client(),
        bucket: s3.bucket,
        base: BASE,
        cluster: options.cluster ?? 'main',
        snapshotFile: options.file ?? mainSnapshot,
        etcdVersion: full,
        at: new Date(Date.UTC(2026, 10, 30, 12, 0, second)),
        sequence,
        data: options.data,
        meta: options.meta,
      });
    }

    async function verify(key: string) {
      const workDir = await mkdtemp(join(root, 'work-'));
      const [clientPort, peerPort] = await freePorts(2);
      const run = await runScript('etcd-restore-verify', {
        params: {
          Cluster: 'kops-prod',
          Bucket: s3.bucket,
          Key: key,
          Source: 'etcd-manager',
          ExecutionId: 'manual',
          ClientPort: String(clientPort),
          PeerPort: String(peerPort),
          HealthTimeoutSeconds: '30',
        },
        pathPrepend: [binaries.binDir],
        env: { ...s3.cliEnv, CARETAKER_AWS_CLI: AWS_CLI, CARETAKER_WORK_DIR: workDir },
        timeoutMs: 150_000,
      });
      if (run.exitCode !== 0 || !run.result) throw new Error(explain(run));
      const result = verificationResult.parse(run.result);
      expect(await readdir(workDir)).toEqual([]);
      return result;
    }

    it('verifies a backup of the main cluster: unpacks it, reads the meta, restores and finds the namespaces', async () => {
      const key = await backup();

      const result = await verify(key);

      expect(result).toMatchObject({ key, verified: true, failedCheck: '', etcdVersion: full });
      expect(result.checks.map((c) => [c.name, c.ok]).slice(0, -1)).toEqual([
        ['download', true],
        ['meta', true],
        ['gzip', true],
        ['etcd-version', true],
        ['snapshot-status', true],
        ['restore', true],
        ['etcd-healthy', true],
        ['revision', true],
        ['kubernetes-data', true],
        ['key-counts', null],
      ]);
      expect(result.checks.at(-1)?.name).toBe('kube-apiserver');
      expect(result.checks.find((c) => c.name === 'meta')?.detail).toContain(`taken by etcd ${full}`);
      expect(result.totalKeys).toBeGreaterThanOrEqual(3);
    });

    it('verifies an events backup by its /registry/events keys, and refuses a main backup filed as events', async () => {
      const events = await backup({ cluster: 'events', file: eventsSnapshot });
      const misfiled = await backup({ cluster: 'events' });

      const [ok, wrong] = [await verify(events), await verify(misfiled)];

      expect(ok).toMatchObject({ verified: true });
      expect(ok.checks.find((c) => c.name === 'kubernetes-data')?.detail).toContain(
        "2 keys under /registry/events/ and none under /registry/namespaces/: an events etcd's backup",
      );
      expect(ok.checks.find((c) => c.name === 'kube-apiserver')?.ok).toBeNull();
      expect(wrong).toMatchObject({ verified: false, failedCheck: 'kubernetes-data' });
      expect(wrong.reason).toContain(
        "keys under /registry/namespaces/ in the restored etcd: this is the API server's main etcd, not the events etcd",
      );
    });

    it('does not verify a backup whose gzip is damaged or truncated', async () => {
      const whole = gzipSync(await readFile(mainSnapshot));
      const garbage = await backup({ data: Buffer.from('this is not gzip at all') });
      const truncated = await backup({ data: whole.subarray(0, Math.floor(whole.length / 2)) });
      const flipped = Buffer.from(whole);
      const middle = Math.floor(flipped.length / 2);
      flipped[middle] = (flipped[middle] ?? 0) ^ 0xff;
      const corrupted = await backup({ data: flipped });

      for (const key of [garbage, truncated, corrupted]) {
        const result = await verify(key);
        expect({ key, verified: result.verified, failedCheck: result.failedCheck }).toEqual({
          key,
          verified: false,
          failedCheck: 'gzip',
        });
        expect(result.reason).toContain('does not unpack whole');
        expect(result.checks.find((c) => c.name === 'restore')?.ok).toBeNull();
      }
    });

    it('does not verify a backup whose meta file is wrong', async () => {
      const at = Math.floor(Date.UTC(2026, 10, 30, 12, 0, 0) / 1000);
      const cases: [string, string][] = [
        ['not json', 'not valid JSON'],
        [JSON.stringify({ timestamp: String(at) }), 'etcdVersion is missing'],
        [JSON.stringify({ etcdVersion: 'latest', timestamp: String(at) }), 'not an etcd version'],
        [JSON.stringify({ etcdVersion: full, timestamp: '17' }), 'more than a day from the backup'],
      ];
      for (const [meta, why] of cases) {
        const result = await verify(await backup({ meta }));
        expect({ meta, verified: result.verified, failedCheck: result.failedCheck }).toEqual({
          meta,
          verified: false,
          failedCheck: 'meta',
        });
        expect(result.reason).toContain(why);
      }
    });

    it('refuses a backup whose meta names an older etcd than the snapshot was written by', async () => {
      // etcd 3.6 writes its storage version into the snapshot; 3.4/3.5 snapshots carry none
      const result = await verify(
        await backup({
          meta: JSON.stringify({
            etcdVersion: '3.5.0',
            timestamp: String(Math.floor(Date.UTC(2026, 10, 30, 12, 0, second + 1) / 1000)),
          }),
        }),
      );
      if (version === '3.6') {
        expect(result).toMatchObject({ verified: false, failedCheck: 'snapshot-status' });
        expect(result.reason).toContain('newer than etcd 3.5.0');
      } else if (version === '3.4') {
        // the meta's word is trusted where the snapshot says nothing: 3.4 cannot restore a 3.5 backup
        expect(result).toMatchObject({ verified: false, failedCheck: 'etcd-version' });
      } else {
        expect(result.verified).toBe(true);
      }
    });
  },
);
