/**
 * A snapshot without a storage version: etcdutl 3.6 prints `"version":""` for it (a 3.6 cluster
 * writes its storage version a few seconds after it starts; a snapshot from before then has none,
 * as has any 3.5 snapshot). etcd-snapshot records that as null, not as the empty string, and
 * restore verification accepts both: an empty string in the manifest made restore-verify fail the
 * manifest check, which is why the kops sandbox's caretaker-source test (backup right after the
 * cluster started) failed now and then.
 */
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  manifest as manifestSchema,
  snapshotResult,
  verificationResult,
} from '../../functions/shared/domain/schemas';
import { freePorts, startEtcdCluster, type EtcdCluster } from '../../sandbox/etcd-cluster';
import { etcdBinaries } from '../../sandbox/etcd-versions';
import { generateEtcdPki, type EtcdPki } from '../../sandbox/pki';
import { runScript, type ScriptRun } from '../../sandbox/run-script';
import { objectReader, startLocalS3, type LocalS3 } from '../../sandbox/s3rver';

jest.setTimeout(120_000);

const AWS_CLI = '/usr/bin/aws';
const v35 = etcdBinaries('3.5');
const v36 = etcdBinaries('3.6');

let root: string;
let pki: EtcdPki;
let s3: LocalS3;
let etcd: EtcdCluster;
let tools: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'caretaker-storage-version-test-'));
  pki = await generateEtcdPki(join(root, 'pki'));
  s3 = await startLocalS3();
  etcd = await startEtcdCluster({ pki, binaries: v35, size: 1, dir: join(root, 'etcd') });
  await etcd.seed(['/registry/namespaces/default', '/registry/namespaces/kube-system']);
  // a node whose etcdutl is 3.6: it reads the 3.5 snapshot and prints "version":""
  tools = join(root, 'tools');
  await mkdir(tools, { recursive: true });
  await symlink(v35.etcdctl, join(tools, 'etcdctl'));
  await symlink(v36.etcdutl!, join(tools, 'etcdutl'));
});

afterAll(async () => {
  await etcd?.stop();
  await s3?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

function explain(run: ScriptRun): string {
  return `exit ${run.exitCode}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}

async function verify(key: string) {
  const workDir = await mkdtemp(join(root, 'verify-'));
  const [clientPort, peerPort] = await freePorts(2);
  const run = await runScript('etcd-restore-verify', {
    params: {
      Cluster: 'prod',
      Bucket: s3.bucket,
      Key: key,
      ExecutionId: 'manual',
      ClientPort: String(clientPort),
      PeerPort: String(peerPort),
      HealthTimeoutSeconds: '30',
    },
    pathPrepend: [v36.binDir],
    env: { ...s3.cliEnv, CARETAKER_AWS_CLI: AWS_CLI, CARETAKER_WORK_DIR: workDir },
    timeoutMs: 100_000,
  });
  if (run.exitCode !== 0 || !run.result) throw new Error(explain(run));
  return verificationResult.parse(run.result);
}

it('records a snapshot without a storage version as storageVersion null, and it verifies', async () => {
  const workDir = await mkdtemp(join(root, 'work-'));
  const run = await runScript('etcd-snapshot', {
    params: {
      EtcdPort: String(etcd.member(0).clientPort),
      CaFile: pki.ca.cert,
      CertFile: pki.healthcheckClient.cert,
      KeyFile: pki.healthcheckClient.key,
      EtcdctlMode: 'host',
      Cluster: 'prod',
      Bucket: s3.bucket,
      DataDir: workDir,
      ExecutionId: 'manual',
    },
    pathPrepend: [tools],
    env: { ...s3.cliEnv, CARETAKER_AWS_CLI: AWS_CLI, CARETAKER_WORK_DIR: workDir },
  });
  if (run.exitCode !== 0) throw new Error(explain(run));
  const result = snapshotResult.parse(run.result);
  const text = await objectReader(s3.client()).getObject(s3.bucket, result.manifestKey);
  const manifest = manifestSchema.parse(JSON.parse(text));
  expect(manifest.snapshotTool).toEqual({ name: 'etcdutl', version: expect.stringMatching(/^3\.6\./) });
  expect(manifest.storageVersion).toBeNull();

  const verified = await verify(result.key);
  expect(verified).toMatchObject({ verified: true, failedCheck: '' });

  // a manifest written before the fix says "" instead of null: the same snapshot still verifies
  const older = { ...JSON.parse(text), storageVersion: '' };
  await s3
    .client()
    .send(new PutObjectCommand({ Bucket: s3.bucket, Key: result.manifestKey, Body: JSON.stringify(older) }));
  expect(await verify(result.key)).toMatchObject({ verified: true, failedCheck: '' });
});
