/**
 * Restore verification's kube-apiserver check on a real API server: etcd-restore-verify.sh with
 * the built kube-apiserver and kubectl on PATH, against snapshots of a real cluster (the sandbox's
 * control plane with its seeded workload).
 */
import { join } from 'node:path';
import { startEtcdCluster } from '../../sandbox/etcd-cluster';
import { WORKLOAD } from '../../sandbox/kubernetes-workload';
import {
  copyKeys,
  etcd36,
  getText,
  isAlive,
  rawValue,
  startTestCluster,
  takeSnapshot,
  verifySnapshot,
  type TestCluster,
} from '../support/kubernetes-cluster';

jest.setTimeout(300_000);

let t: TestCluster;

beforeAll(async () => {
  t = await startTestCluster('kubernetes-restore-verify-test');
});

afterAll(async () => {
  await t?.stop();
  for (const pid of t?.pids ?? []) expect(isAlive(pid)).toBe(false);
});

describe('etcd-restore-verify.sh with kube-apiserver on PATH', () => {
  it('verifies a snapshot of the real cluster, the kube-apiserver check counting what a real API server serves', async () => {
    const snap = await takeSnapshot(t);
    const manifest = JSON.parse(await getText(t, snap.result!.manifestKey as string)) as {
      keyCounts: Record<string, number>;
    };

    const v = await verifySnapshot(t, snap.result!.key as string);

    const api = v.checks.find((c) => c.name === 'kube-apiserver');
    expect({ verified: v.result.verified, reason: v.result.reason }).toEqual({ verified: true, reason: '' });
    expect(api).toMatchObject({ ok: true });
    expect(api!.detail).toContain(`pods ${manifest.keyCounts.pods}`);
    expect(api!.detail).toContain(`deployments ${manifest.keyCounts.deployments}`);
    expect(api!.detail).toContain(`daemonsets ${manifest.keyCounts.daemonsets}`);
  });

  it('does not verify a snapshot whose pods cannot be served: Deployments written under the pods prefix', async () => {
    // a copy of the cluster in a one-member etcd, every /registry/pods/ key holding a Deployment:
    // the keys and their counts are all there, only an API server can tell
    const copy = await startEtcdCluster({
      pki: t.pki,
      size: 1,
      dir: join(t.root, 'wrong-prefix'),
      binaries: etcd36,
    });
    try {
      const { namespace, deployment } = WORKLOAD.oneAtATime;
      const stored = await rawValue(t.etcd, `/registry/deployments/${namespace}/${deployment}`);
      await copyKeys(t.etcd, copy, (key, value) => (key.startsWith('/registry/pods/') ? stored : value));
      const snap = await takeSnapshot(t, copy);

      const v = await verifySnapshot(t, snap.result!.key as string);

      expect(v.result).toMatchObject({ verified: false, failedCheck: 'kube-apiserver' });
      expect(v.checks.find((c) => c.name === 'key-counts')).toMatchObject({ ok: true });
      // the API server cannot list pods: its pods cache never syncs, so it never gets ready
      expect(v.checks.find((c) => c.name === 'kube-apiserver')!.detail).toMatch(
        /informer-sync failed|^pods: /,
      );
    } finally {
      await copy.stop();
    }
  });
});
