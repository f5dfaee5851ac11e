/**
 * One real control plane for an integration test file: a 3-member TLS etcd 3.6, the Kubernetes
 * control plane of sandbox/kubernetes.ts with its seeded workload (3 control-plane nodes, 2
 * workers), and s3rver for snapshots; plus the node scripts that snapshot and verify it.
 */
import { GetObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEtcdCluster, type EtcdCluster } from '../../sandbox/etcd-cluster';
import { restoreVerifyPorts } from '../../sandbox/fleet/scratch-fleet';
import { etcdBinaries } from '../../sandbox/etcd-versions';
import { startKubernetes, type KubeNode, type KubernetesCluster } from '../../sandbox/kubernetes';
import { generateEtcdPki, type EtcdPki } from '../../sandbox/pki';
import { runScript, type ScriptRun } from '../../sandbox/run-script';
import { startLocalS3, type LocalS3 } from '../../sandbox/s3rver';

const AWS_CLI = '/usr/bin/aws';
export const TEST_CLUSTER = 'prod-eu';
export const etcd36 = etcdBinaries('3.6');

export interface TestCluster {
  root: string;
  pki: EtcdPki;
  etcd: EtcdCluster;
  k8s: KubernetesCluster;
  s3: LocalS3;
  s3Client: S3Client;
  nodes: KubeNode[];
  /** every PID started, for the "all stopped" check after stop() */
  pids: number[];
  stop(): Promise<void>;
}

/** the fleet's names: control-plane-1..3 (one per etcd member) and worker-1..2 */
export function testNodes(root: string): KubeNode[] {
  const node = (name: string, instanceId: string, role: KubeNode['role']): KubeNode => ({
    name,
    instanceId,
    role,
    root: join(root, 'roots', name),
  });
  return [
    ...[1, 2, 3].map((i) => node(`control-plane-${i}`, `i-0c0ffee0000000${i}a`, 'control-plane')),
    ...[1, 2].map((i) => node(`worker-${i}`, `i-0beef00000000${i}b`, 'worker')),
  ];
}

/**
 * Starts etcd, then Kubernetes, then s3rver, one at a time; on a failure stops what did start.
 * Call `stop()` in afterAll.
 */
export async function startTestCluster(name: string): Promise<TestCluster> {
  const root = await mkdtemp(join(tmpdir(), `caretaker-${name}-`));
  const nodes = testNodes(root);
  const started: { stop(): Promise<void> }[] = [];
  try {
    const pki = await generateEtcdPki(join(root, 'pki'));
    const etcd = await startEtcdCluster({ pki, dir: join(root, 'etcd'), binaries: etcd36 });
    started.push(etcd);
    const k8s = await startKubernetes({ etcd, nodes, dir: join(root, 'kubernetes') });
    started.push(k8s);
    const s3 = await startLocalS3();
    started.push(s3);
    const s3Client = s3.client();
    const pids = [...etcd.pids, ...k8s.pids];
    return {
      root,
      pki,
      etcd,
      k8s,
      s3,
      s3Client,
      nodes,
      pids,
      async stop() {
        s3Client.destroy();
        await k8s.stop();
        await etcd.stop();
        await s3.stop();
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (err) {
    for (const s of started.reverse()) await s.stop().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
    throw err;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export function explain(run: ScriptRun): string {
  return `exit ${run.exitCode}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr.slice(-4000)}`;
}

export async function getText(t: TestCluster, key: string): Promise<string> {
  const out = await t.s3Client.send(new GetObjectCommand({ Bucket: t.s3.bucket, Key: key }));
  return out.Body!.transformToString();
}

/** etcd-snapshot.sh (host etcdctl 3.6) against member 0 of `cluster`, uploading to the local S3 */
export async function takeSnapshot(t: TestCluster, cluster: EtcdCluster = t.etcd): Promise<ScriptRun> {
  const run = await runScript('etcd-snapshot', {
    params: {
      Cluster: TEST_CLUSTER,
      Bucket: t.s3.bucket,
      EtcdPort: String(cluster.member(0).clientPort),
      CaFile: t.pki.ca.cert,
      CertFile: t.pki.healthcheckClient.cert,
      KeyFile: t.pki.healthcheckClient.key,
      EtcdctlMode: 'host',
      DataDir: join(t.root, 'unused-data-dir'),
      ExecutionId: 'kubernetes-test',
    },
    instanceId: 'i-0c0ffee00000001a',
    pathPrepend: [etcd36.binDir],
    env: {
      ...t.s3.cliEnv,
      CARETAKER_AWS_CLI: AWS_CLI,
      CARETAKER_WORK_DIR: await mkdtemp(join(t.root, 'snapshot-')),
    },
  });
  if (run.exitCode !== 0 || !run.result) throw new Error(explain(run));
  return run;
}

export interface Check {
  name: string;
  ok: boolean | null;
  detail: string;
}

/** etcd-restore-verify.sh of `key` with etcd 3.6 and the built kube-apiserver and kubectl on PATH */
export async function verifySnapshot(
  t: TestCluster,
  key: string,
): Promise<{ result: Record<string, unknown>; checks: Check[]; run: ScriptRun }> {
  // kube-apiserver takes PeerPort+1: that one must be free too
  const ports = await restoreVerifyPorts();
  const run = await runScript('etcd-restore-verify', {
    params: {
      Cluster: TEST_CLUSTER,
      Bucket: t.s3.bucket,
      Key: key,
      ExecutionId: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-restore-verify:kubernetes-test',
      ...ports,
      HealthTimeoutSeconds: '60',
    },
    instanceId: 'i-0feedface0000001',
    pathPrepend: [etcd36.binDir, t.k8s.binaries.binDir],
    env: {
      ...t.s3.cliEnv,
      CARETAKER_AWS_CLI: AWS_CLI,
      CARETAKER_WORK_DIR: await mkdtemp(join(t.root, 'verify-')),
    },
    timeoutMs: 240_000,
  });
  if (run.exitCode !== 0 || !run.result) throw new Error(explain(run));
  return { result: run.result, checks: run.result.checks as Check[], run };
}

/** the stored bytes of one key */
export async function rawValue(cluster: EtcdCluster, key: string): Promise<Buffer> {
  const out = JSON.parse(await cluster.client().run(['get', key, '-w', 'json'])) as {
    kvs?: { value: string }[];
  };
  const kv = out.kvs?.[0];
  if (!kv) throw new Error(`no key ${key}`);
  return Buffer.from(kv.value, 'base64');
}

/**
 * Copies every key of `from` (at one revision) into `to`, each value through `map`, in
 * transactions of up to 500 puts; binary values go as Go-quoted strings, which etcdctl unquotes.
 * @throws Error when `to` does not end up with as many keys as `from` had.
 */
export async function copyKeys(
  from: EtcdCluster,
  to: EtcdCluster,
  map: (key: string, value: Buffer) => Buffer,
): Promise<void> {
  const out = JSON.parse(
    await from.client().run(['get', '', '--from-key', '-w', 'json'], undefined, 120),
  ) as {
    kvs: { key: string; value: string }[];
  };
  const puts = out.kvs.map((kv) => {
    const key = Buffer.from(kv.key, 'base64').toString('utf8');
    return `put ${goQuote(Buffer.from(key))} ${goQuote(map(key, Buffer.from(kv.value, 'base64')))}`;
  });
  const client = to.client();
  for (let i = 0; i < puts.length; i += 500) {
    await client.run(['txn'], `\n${puts.slice(i, i + 500).join('\n')}\n\n\n`, 120);
  }
  const copied = JSON.parse(
    await client.run(['get', '', '--from-key', '--keys-only', '--limit=1', '-w', 'json']),
  ) as {
    count: number;
  };
  if (copied.count !== out.kvs.length) throw new Error(`copied ${copied.count} of ${out.kvs.length} keys`);
}

/** a Go double-quoted string literal of arbitrary bytes (what etcdctl's txn reader unquotes) */
function goQuote(bytes: Buffer): string {
  let s = '"';
  for (const b of bytes) {
    if (b >= 0x20 && b < 0x7f && b !== 0x22 && b !== 0x5c) s += String.fromCharCode(b);
    else s += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return `${s}"`;
}
