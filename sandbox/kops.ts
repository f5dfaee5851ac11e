/**
 * The kops side of the sandbox (`npm run sandbox -- --kind kops`): what a kops control-plane node
 * and its state store look like to Caretaker, with real etcd underneath.
 *
 * - real: the main etcd (the sandbox's 3 members) and a second, one-member etcd for events (kops
 *   runs etcd-manager-events beside etcd-manager-main), both TLS with the sandbox's PKI; the kops
 *   state store is a second bucket in the local S3, holding backups in etcd-manager's layout made
 *   from those etcds with `etcdctl snapshot save` (sandbox/etcd-manager-backups.ts);
 * - stand-in: crictl (test/support/bin/crictl), which lists an etcd-manager-main-<node> and an
 *   etcd-manager-events-<node> pod on every control-plane node, each with an `etcd-manager`
 *   container whose /opt/etcd-v<version>/usr/local/bin holds the real etcdctl and etcdutl (kops'
 *   image-volume layout), and maps /rootfs to the host;
 * - ports: kops serves main on 4001 and events on 4002 on each node's loopback; the sandbox's
 *   members listen on free loopback ports instead (parallel runs), and each node's scripts reach
 *   theirs through CARETAKER_ETCD_ENDPOINT, as in the kubeadm sandbox.
 */
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { mkdir, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { execFileSync } from 'node:child_process';
import { startEtcdCluster, type EtcdCluster } from './etcd-cluster';
import { writeEtcdManagerBackup } from './etcd-manager-backups';
import type { EtcdBinaries } from './etcd-versions';
import type { EtcdPki } from './pki';
import type { LocalS3 } from './s3rver';

export const STATE_STORE_BUCKET = 'kops-state-sandbox';
export const KOPS_CLUSTER_NAME = 'sandbox.k8s.local';
/** the crictl stand-in (a recording stand-in: no container runtime runs here) */
const STAND_IN_BIN_DIR = resolve(__dirname, '..', 'test', 'support', 'bin');

export interface KopsSide {
  /** the cluster's `kops` block */
  config: { stateStore: string; clusterName: string };
  events: EtcdCluster;
  /** the data keys of the backups written into the state store at start, oldest first */
  backups: { main: string[]; events: string[] };
  /**
   * etcd-manager's backups of both etcds into the state store (two of main, one of events), as
   * etcd-manager would have taken them; called once the cluster holds its data (with Kubernetes:
   * after the API servers created their namespaces)
   */
  writeBackups(): Promise<void>;
  /** the full etcd version the containers carry (/opt/etcd-v<version>) */
  etcdVersion: string;
  /** environment of control-plane node `index`: crictl first on PATH, its two containers */
  nodeEnv(index: number, path: string): Record<string, string>;
  /** what crictl was asked on control-plane node `index` (the stand-in records every call) */
  crictlLog(index: number): string;
  pids: number[];
  stop(): Promise<void>;
}

export interface StartKopsOptions {
  dir: string;
  pki: EtcdPki;
  binaries: EtcdBinaries;
  main: EtcdCluster;
  s3: LocalS3;
}

export async function startKopsSide(o: StartKopsOptions): Promise<KopsSide> {
  await mkdir(o.dir, { recursive: true });
  const events = await startEtcdCluster({
    pki: o.pki,
    binaries: o.binaries,
    size: 1,
    dir: join(o.dir, 'events-etcd'),
  });
  try {
    await events.seed(['/registry/events/default/sandbox.1', '/registry/events/kube-system/sandbox.2']);
    const version = /version: (\d+\.\d+\.\d+)/.exec(
      execFileSync(o.binaries.etcdctl, ['version'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } }),
    )?.[1];
    if (!version) throw new Error(`no version from ${o.binaries.etcdctl}`);
    // one image root for every container: kops mounts each bundled etcd at /opt/etcd-v<version>
    const root = join(o.dir, 'etcd-manager-root');
    const tools = join(root, `opt/etcd-v${version}/usr/local/bin`);
    await mkdir(tools, { recursive: true });
    for (const [name, path] of Object.entries({
      etcd: o.binaries.etcd,
      etcdctl: o.binaries.etcdctl,
      etcdutl: o.binaries.etcdutl,
    })) {
      if (path) await symlink(path, join(tools, name));
    }

    // the state store; etcd-manager's backups go in once the cluster holds its data (writeBackups)
    const client = o.s3.client();
    await client.send(new CreateBucketCommand({ Bucket: STATE_STORE_BUCKET }));
    client.destroy();
    const backups = { main: [] as string[], events: [] as string[] };
    const writeBackups = async () => {
      const client = o.s3.client();
      const base = `kops/${KOPS_CLUSTER_NAME}`;
      const now = Date.now();
      let sequence = 0;
      for (const [cluster, etcd, count] of [
        ['main', o.main, 2],
        ['events', events, 1],
      ] as const) {
        for (let i = count; i >= 1; i--) {
          const file = join(o.dir, `${cluster}-${i}.db`);
          await etcd.client(0).run(['snapshot', 'save', file]);
          sequence += 1;
          backups[cluster].push(
            await writeEtcdManagerBackup({
              client,
              bucket: STATE_STORE_BUCKET,
              base,
              cluster,
              snapshotFile: file,
              etcdVersion: version,
              at: new Date(now - i * 15 * 60_000),
              sequence,
              memberCount: etcd.members.length,
            }),
          );
        }
      }
      client.destroy();
    };

    return {
      config: { stateStore: `s3://${STATE_STORE_BUCKET}/kops`, clusterName: KOPS_CLUSTER_NAME },
      events,
      backups,
      writeBackups,
      etcdVersion: version,
      nodeEnv: (index, path) => ({
        PATH: `${STAND_IN_BIN_DIR}:${path}`,
        CRICTL_ETCD_MANAGER_MAIN_ROOT: root,
        CRICTL_ETCD_MANAGER_EVENTS_ROOT: root,
        CRICTL_NODE_NAME: `control-plane-${index + 1}`,
        CRICTL_LOG: join(o.dir, `crictl-control-plane-${index + 1}.log`),
        // the events member every node's etcd-manager-events pod reaches (kops: 127.0.0.1:4002)
        CARETAKER_ETCD_EVENTS_ENDPOINT: events.member(0).clientUrl,
      }),
      crictlLog: (index) => join(o.dir, `crictl-control-plane-${index + 1}.log`),
      get pids() {
        return events.pids;
      },
      stop: () => events.stop(),
    };
  } catch (e) {
    await events.stop();
    throw e;
  }
}
