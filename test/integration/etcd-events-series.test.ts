/**
 * kops' events etcd as Caretaker's second backup series, end to end on the node scripts: a real
 * main etcd (namespaces) and a real events etcd (only /registry/events/...), reached through the
 * crictl stand-in's etcd-manager-main-* and etcd-manager-events-* pods; etcd-snapshot with
 * EtcdManager events uploads to <cluster>/etcd/events/ with a manifest of kind etcd-events, and
 * etcd-restore-verify judges that series by its events keys. The series are never mixed.
 */
import { CopyObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  manifest as manifestSchema,
  snapshotResult,
  verificationResult,
} from '../../functions/shared/domain/schemas';
import { parseSnapshotKey } from '../../functions/shared/domain/snapshot-key';
import { freePorts, startEtcdCluster, type EtcdCluster } from '../../sandbox/etcd-cluster';
import { etcdVersionsUnderTest } from '../../sandbox/etcd-versions';
import { generateEtcdPki, type EtcdPki } from '../../sandbox/pki';
import { runScript, type ScriptRun } from '../../sandbox/run-script';
import { objectReader, startLocalS3, type LocalS3 } from '../../sandbox/s3rver';
import { etcdManagerEnv, etcdManagerRoot, STAND_IN_BIN_DIR } from '../support/stand-ins';

jest.setTimeout(180_000);

const AWS_CLI = '/usr/bin/aws';
const CLUSTER = 'kops-prod';
const VERSIONS = etcdVersionsUnderTest();

let root: string;
let pki: EtcdPki;
let s3: LocalS3;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'caretaker-events-series-test-'));
  pki = await generateEtcdPki(join(root, 'pki'));
  s3 = await startLocalS3();
});

afterAll(async () => {
  await s3?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

function explain(run: ScriptRun): string {
  return `exit ${run.exitCode}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}

describe.each(VERSIONS.map((b) => [b.version, b] as const))(
  'the events series on etcd %s',
  (version, binaries) => {
    let main: EtcdCluster;
    let events: EtcdCluster;
    let env: Record<string, string>;
    let log: string;

    beforeAll(async () => {
      const dir = await mkdtemp(join(root, `etcd-${version}-`));
      [main, events] = await Promise.all([
        startEtcdCluster({ pki, binaries, size: 1, dir: join(dir, 'main') }),
        startEtcdCluster({ pki, binaries, size: 1, dir: join(dir, 'events') }),
      ]);
      await main.seed([
        '/registry/namespaces/default',
        '/registry/namespaces/kube-system',
        '/registry/pods/a/b',
      ]);
      await events.seed([
        '/registry/events/default/pod-a.1',
        '/registry/events/default/pod-a.2',
        '/registry/events/kube-system/node-1.1',
      ]);
      const mainRoot = join(dir, 'root-main');
      const eventsRoot = join(dir, 'root-events');
      await etcdManagerRoot(mainRoot, binaries, 'image-volume');
      await etcdManagerRoot(eventsRoot, binaries, 'image-volume');
      env = etcdManagerEnv(mainRoot, eventsRoot);
      log = join(dir, 'crictl.log');
    });

    afterAll(async () => {
      await Promise.all([main?.stop(), events?.stop()]);
    });

    /** etcd-snapshot as the events pass of the backup workflow sends it (port: the member asked) */
    async function snapshot(etcdManager: 'main' | 'events', etcd: EtcdCluster) {
      const workDir = await mkdtemp(join(root, 'work-'));
      return runScript('etcd-snapshot', {
        params: {
          EtcdPort: String(etcd.member(0).clientPort),
          CaFile: pki.ca.cert,
          CertFile: pki.healthcheckClient.cert,
          KeyFile: pki.healthcheckClient.key,
          EtcdctlMode: 'crictl',
          EtcdManager: etcdManager,
          Cluster: CLUSTER,
          Bucket: s3.bucket,
          DataDir: '/mnt/master-vol-does-not-exist/data',
          ExecutionId: 'manual',
        },
        pathPrepend: [STAND_IN_BIN_DIR],
        env: {
          ...s3.cliEnv,
          ...env,
          CARETAKER_AWS_CLI: AWS_CLI,
          CARETAKER_WORK_DIR: workDir,
          CRICTL_LOG: log,
        },
      });
    }

    async function verify(key: string) {
      const workDir = await mkdtemp(join(root, 'verify-'));
      const [clientPort, peerPort] = await freePorts(2);
      const run = await runScript('etcd-restore-verify', {
        params: {
          Cluster: CLUSTER,
          Bucket: s3.bucket,
          Key: key,
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
      expect(await readdir(workDir)).toEqual([]);
      return verificationResult.parse(run.result);
    }

    const getManifest = async (key: string) =>
      manifestSchema.parse(JSON.parse(await objectReader(s3.client()).getObject(s3.bucket, key)));

    let eventsKey: string;
    let mainKey: string;

    it('snapshots the events etcd through the etcd-manager-events pod into <cluster>/etcd/events/, kind etcd-events', async () => {
      await rm(log, { force: true });

      const run = await snapshot('events', events);

      if (run.exitCode !== 0) throw new Error(explain(run));
      const result = snapshotResult.parse(run.result);
      eventsKey = result.key;
      expect(result.key).toMatch(
        new RegExp(`^${CLUSTER}/etcd/events/\\d{4}/\\d{2}/\\d{2}/\\d{8}T\\d{6}Z-r\\d+\\.db$`),
      );
      expect(parseSnapshotKey(result.key)).toBeUndefined();
      expect(parseSnapshotKey(result.key, 'events')).toMatchObject({ series: 'events', cluster: CLUSTER });
      const manifest = await getManifest(result.manifestKey);
      expect(manifest).toMatchObject({ kind: 'etcd-events', key: result.key, keyCounts: { events: 3 } });
      const calls = (await readFile(log, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => l.split('\t'));
      expect(calls[0]).toEqual(['pods', '--name', '^etcd-manager-events-', '--state', 'ready', '-q']);
      // never the main container for the events series
      expect(calls[1]).toEqual([
        'ps',
        '--pod',
        'pod-events',
        '--name',
        '^etcd-manager$',
        '--state',
        'running',
        '-q',
      ]);
      const execs = calls.filter((c) => c[0] === 'exec');
      expect(execs.length).toBeGreaterThan(3);
      expect(execs.filter((c) => c[1] !== 'ctr-events')).toEqual([]);
    });

    it('snapshots the main etcd as before: <cluster>/etcd/, kind etcd, never through the events pod', async () => {
      await rm(log, { force: true });

      const run = await snapshot('main', main);

      if (run.exitCode !== 0) throw new Error(explain(run));
      const result = snapshotResult.parse(run.result);
      mainKey = result.key;
      expect(parseSnapshotKey(result.key)).toMatchObject({ series: 'main' });
      expect((await getManifest(result.manifestKey)).kind).toBe('etcd');
      const calls = (await readFile(log, 'utf8'))
        .trim()
        .split('\n')
        .map((l) => l.split('\t'));
      expect(calls[0]).toEqual(['pods', '--name', '^etcd-manager-main-', '--state', 'ready', '-q']);
      const execs = calls.filter((c) => c[0] === 'exec');
      expect(execs.length).toBeGreaterThan(3);
      expect(execs.filter((c) => c[1] !== 'ctr-main')).toEqual([]);
    });

    it('refuses to upload the main etcd as the events series, and the events etcd as main', async () => {
      const [mainAsEvents, eventsAsMain] = [await snapshot('events', main), await snapshot('main', events)];

      expect(mainAsEvents.exitCode).not.toBe(0);
      expect(mainAsEvents.stderr).toContain('holds /registry/namespaces/ keys');
      expect(mainAsEvents.stderr).toContain("is the API server's main etcd, not the events etcd");
      expect(eventsAsMain.exitCode).not.toBe(0);
      expect(eventsAsMain.stderr).toContain(
        'no /registry/namespaces/default and no /registry/namespaces/kube-system key',
      );
    });

    it('verifies an events snapshot by its /registry/events keys; kube-apiserver has nothing to serve', async () => {
      const result = await verify(eventsKey);

      expect(result).toMatchObject({ key: eventsKey, verified: true, failedCheck: '' });
      const check = (name: string) => result.checks.find((c) => c.name === name);
      expect(check('manifest')?.ok).toBe(true);
      expect(check('kubernetes-data')).toMatchObject({
        ok: true,
        detail:
          "3 keys under /registry/events/ and none under /registry/namespaces/: an events etcd's backup",
      });
      expect(check('key-counts')?.ok).toBe(true);
      expect(check('kube-apiserver')?.ok).toBeNull();
    });

    it('fails a main snapshot filed as the events series, clearly', async () => {
      // the main snapshot copied under an events key, with a manifest that claims the events series
      const revision = /-r(\d+)\.db$/.exec(mainKey)![1]!;
      const filed = `${CLUSTER}/etcd/events/2026/11/30/20261130T120000Z-r${revision}.db`;
      const client = s3.client();
      await client.send(
        new CopyObjectCommand({ Bucket: s3.bucket, CopySource: `${s3.bucket}/${mainKey}`, Key: filed }),
      );
      const m = await getManifest(mainKey.replace(/\.db$/, '.json'));
      await client.send(
        new PutObjectCommand({
          Bucket: s3.bucket,
          Key: filed.replace(/\.db$/, '.json'),
          Body: JSON.stringify({ ...m, key: filed, kind: 'etcd-events' }),
        }),
      );

      const result = await verify(filed);

      expect(result).toMatchObject({ verified: false, failedCheck: 'kubernetes-data' });
      expect(result.reason).toContain(
        "keys under /registry/namespaces/ in the restored etcd: this is the API server's main etcd, not the events etcd",
      );
    });

    it('fails an events key whose manifest is a main one (no kind), at the manifest', async () => {
      const revision = /-r(\d+)\.db$/.exec(eventsKey)![1]!;
      const filed = `${CLUSTER}/etcd/events/2026/11/30/20261130T130000Z-r${revision}.db`;
      const client = s3.client();
      await client.send(
        new CopyObjectCommand({ Bucket: s3.bucket, CopySource: `${s3.bucket}/${eventsKey}`, Key: filed }),
      );
      const m: Record<string, unknown> = await getManifest(eventsKey.replace(/\.db$/, '.json'));
      delete m['kind'];
      await client.send(
        new PutObjectCommand({
          Bucket: s3.bucket,
          Key: filed.replace(/\.db$/, '.json'),
          Body: JSON.stringify({ ...m, key: filed }),
        }),
      );

      const result = await verify(filed);

      expect(result).toMatchObject({ verified: false, failedCheck: 'manifest' });
      expect(result.reason).toContain('kind is missing, the key');
      expect(result.reason).toContain('is of the events series (kind etcd-events)');
    });
  },
);
