/**
 * kops: the node scripts reach etcd inside etcd-manager (lib/etcd-access.sh, EtcdManager main|events)
 * against a real etcd cluster, through the crictl stand-in playing a kops control-plane node: two
 * pods, etcd-manager-main-<node> and etcd-manager-events-<node>, both with a container named
 * etcd-manager whose etcd tools live under /opt/etcd-v<version>/..., and the host's / at /rootfs.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  manifest as manifestSchema,
  memberStatus,
  snapshotResult,
} from '../../functions/shared/domain/schemas';
import { startEtcdCluster, type EtcdCluster } from '../../sandbox/etcd-cluster';
import { etcdVersionsUnderTest } from '../../sandbox/etcd-versions';
import { generateEtcdPki, type EtcdPki } from '../../sandbox/pki';
import { runScript, type ScriptRun } from '../../sandbox/run-script';
import { startLocalS3, objectReader, type LocalS3 } from '../../sandbox/s3rver';
import { etcdManagerEnv, etcdManagerRoot, STAND_IN_BIN_DIR, toolVersion } from '../support/stand-ins';

jest.setTimeout(90_000);

const VERSIONS = etcdVersionsUnderTest();
let root: string;
let pki: EtcdPki;
let s3: LocalS3;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'caretaker-etcd-manager-test-'));
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

async function crictlCalls(log: string): Promise<string[][]> {
  return (await readFile(log, 'utf8'))
    .trim()
    .split('\n')
    .map((line) => line.split('\t'));
}

describe.each(VERSIONS.map((b) => [b.version, b] as const))(
  'etcd-manager access on etcd %s',
  (version, binaries) => {
    let etcd: EtcdCluster;
    let full: string;

    beforeAll(async () => {
      etcd = await startEtcdCluster({
        pki,
        binaries,
        size: 1,
        dir: await mkdtemp(join(root, `etcd-${version}-`)),
      });
      await etcd.seed([
        '/registry/namespaces/default',
        '/registry/namespaces/kube-system',
        '/registry/pods/a/b',
      ]);
      full = toolVersion(binaries.etcdctl);
    });

    afterAll(async () => {
      await etcd?.stop();
    });

    /** a fresh node: main and events containers, each with its own image root */
    async function node(layout: 'image-volume' | 'bundled', mainVersions?: readonly string[]) {
      const dir = await mkdtemp(join(root, 'node-'));
      const mainRoot = join(dir, 'main');
      const eventsRoot = join(dir, 'events');
      let toolDir: string | undefined;
      if (mainVersions) {
        for (const v of mainVersions) await mkdir(join(mainRoot, `/opt/etcd-v${v}`), { recursive: true });
      } else {
        toolDir = await etcdManagerRoot(mainRoot, binaries, layout, ['3.5.0']);
      }
      // the events container carries the same tools: picking it would work, and must not happen
      await etcdManagerRoot(eventsRoot, binaries, layout);
      const workDir = await mkdtemp(join(dir, 'work-'));
      return { log: join(dir, 'crictl.log'), env: etcdManagerEnv(mainRoot, eventsRoot), toolDir, workDir };
    }

    const access = (cluster: 'main' | 'events' = 'main') => ({
      EtcdPort: String(etcd.member(0).clientPort),
      CaFile: pki.ca.cert,
      CertFile: pki.healthcheckClient.cert,
      KeyFile: pki.healthcheckClient.key,
      EtcdctlMode: 'crictl',
      EtcdManager: cluster,
    });

    function status(n: Awaited<ReturnType<typeof node>>, env: Record<string, string> = {}) {
      return runScript('etcd-status', {
        params: access(),
        pathPrepend: [STAND_IN_BIN_DIR],
        env: { ...n.env, CARETAKER_WORK_DIR: n.workDir, CRICTL_LOG: n.log, ...env },
      });
    }

    it("finds the main cluster's container by its pod, runs the member's own version's etcdctl, certificates through /rootfs", async () => {
      const n = await node('image-volume');

      const run = await status(n);

      expect(run.exitCode).toBe(0);
      expect(run.result).toMatchObject({ healthy: true, version: full });
      expect(() => memberStatus.parse(run.result)).not.toThrow();
      const etcdctl = [
        'exec',
        'ctr-main',
        `/opt/etcd-v${full}/usr/local/bin/etcdctl`,
        `--endpoints=https://127.0.0.1:${etcd.member(0).clientPort}`,
        `--cacert=/rootfs${pki.ca.cert}`,
        `--cert=/rootfs${pki.healthcheckClient.cert}`,
        `--key=/rootfs${pki.healthcheckClient.key}`,
        '--dial-timeout=5s',
        '--command-timeout=5s',
      ];
      expect(await crictlCalls(n.log)).toEqual([
        ['pods', '--name', '^etcd-manager-main-', '--state', 'ready', '-q'],
        ['ps', '--pod', 'pod-main', '--name', '^etcd-manager$', '--state', 'running', '-q'],
        ['exec', 'ctr-main', `/opt/etcd-v${full}/usr/local/bin/etcdctl`, 'version'],
        [...etcdctl, 'endpoint', 'status', '-w', 'fields'],
        [...etcdctl, 'member', 'list', '-w', 'fields'],
        [...etcdctl, 'endpoint', 'health'],
        [...etcdctl, 'alarm', 'list'],
      ]);
    });

    it('never picks the events container for main, although a name filter lists it first', async () => {
      const n = await node('image-volume');

      const run = await status(n);

      expect(run.exitCode).toBe(0);
      const calls = await crictlCalls(n.log);
      expect(calls.flat().join(' ')).not.toMatch(/events/);
      // the old kubeadm lookup would have taken the events container: prove the stand-in lists it first
      const listed = execFileSync(
        join(STAND_IN_BIN_DIR, 'crictl'),
        ['ps', '--name', 'etcd', '-q', '--state', 'running'],
        {
          encoding: 'utf8',
          env: { ...process.env, ...n.env },
        },
      );
      expect(listed.split('\n')[0]).toBe('ctr-events');
    });

    it('finds the events container when EtcdManager is events', async () => {
      const n = await node('image-volume');

      const run = await runScript('etcd-status', {
        params: access('events'),
        pathPrepend: [STAND_IN_BIN_DIR],
        env: { ...n.env, CARETAKER_WORK_DIR: n.workDir, CRICTL_LOG: n.log },
      });

      expect(run.exitCode).toBe(0);
      const calls = await crictlCalls(n.log);
      expect(calls[0]).toEqual(['pods', '--name', '^etcd-manager-events-', '--state', 'ready', '-q']);
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
      expect(calls.slice(2).every((c) => c[1] === 'ctr-events')).toBe(true);
    });

    it("uses the older images' /opt/etcd-v<version>-linux-amd64 directories", async () => {
      const n = await node('bundled');

      const run = await status(n);

      expect(run.exitCode).toBe(0);
      expect(run.result).toMatchObject({ healthy: true });
      const tools = new Set((await crictlCalls(n.log)).filter((c) => c[0] === 'exec').map((c) => c[2]));
      expect([...tools]).toEqual([
        `/opt/etcd-v${full}/usr/local/bin/etcdctl`,
        `/opt/etcd-v${full}/etcdctl`,
        `/opt/etcd-v${full}-linux-amd64/etcdctl`,
      ]);
    });

    it('names the version the member runs and the directories found when none matches', async () => {
      const n = await node('image-volume', ['3.4.13', '3.5.0']);

      const run = await status(n);

      expect(run.exitCode).toBe(0);
      expect(run.result).toMatchObject({ healthy: false });
      const reason = String(run.result?.reason);
      expect(reason).toContain(`runs etcd ${full}`);
      expect(reason).toContain(
        `/opt/etcd-v${full}/usr/local/bin /opt/etcd-v${full} /opt/etcd-v${full}-linux-amd64`,
      );
      expect(reason).toContain('etcd directories found: /opt/etcd-v3.4.13 /opt/etcd-v3.5.0');
    });

    it('reports no main pod as unhealthy, naming the pod it looked for', async () => {
      const n = await node('image-volume');

      const run = await status(n, { CRICTL_NO_MAIN_POD: '1' });

      expect(run.exitCode).toBe(0);
      expect(run.result).toMatchObject({
        healthy: false,
        reason: expect.stringContaining('no ready etcd-manager-main-* pod'),
      });
    });

    it('rejects EtcdManager without crictl mode, naming the parameter', async () => {
      const n = await node('image-volume');

      const run = await runScript('etcd-status', {
        params: { ...access(), EtcdctlMode: 'host' },
        env: { ...n.env, CARETAKER_WORK_DIR: n.workDir },
      });

      expect(run.exitCode).toBe(1);
      expect(run.stderr).toContain('parameter EtcdManager is invalid');
    });

    it('takes a snapshot through etcd-manager: saved via /rootfs into a host directory, no DataDir needed', async () => {
      const n = await node('image-volume');

      const run = await runScript('etcd-snapshot', {
        params: {
          ...access(),
          Cluster: 'kops-prod',
          Bucket: s3.bucket,
          DataDir: '/mnt/master-vol-does-not-exist/data',
          ExecutionId: 'manual',
        },
        pathPrepend: [STAND_IN_BIN_DIR],
        env: {
          ...s3.cliEnv,
          ...n.env,
          CARETAKER_AWS_CLI: '/usr/bin/aws',
          CARETAKER_WORK_DIR: n.workDir,
          CRICTL_LOG: n.log,
        },
      });

      if (run.exitCode !== 0) throw new Error(explain(run));
      const result = snapshotResult.parse(run.result);
      const manifest = manifestSchema.parse(
        JSON.parse(await objectReader(s3.client()).getObject(s3.bucket, result.manifestKey)),
      );
      expect(manifest.keyCounts).toMatchObject({ namespaces: 2, pods: 1 });
      const save = (await crictlCalls(n.log)).find((c) => c.includes('save'));
      expect(save?.[2]).toMatch(
        new RegExp(`^/opt/etcd-v${full.replace(/\./g, '\\.')}/usr/local/bin/etcdctl$`),
      );
      expect(save?.at(-1)).toMatch(
        new RegExp(`^/rootfs${n.workDir}/caretaker-etcd-snapshot\\.[A-Za-z0-9]+/snapshot\\.db$`),
      );
    });
  },
);
