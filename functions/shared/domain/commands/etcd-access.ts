import type { ClusterConfig, EtcdAccess } from '../config';

/** the parameters every etcd document takes to reach the node's local member */
export function etcdAccessParameters(etcd: EtcdAccess): Record<string, string> {
  return {
    EtcdPort: String(etcd.clientPort),
    CaFile: etcd.caFile,
    CertFile: etcd.certFile,
    KeyFile: etcd.keyFile,
    EtcdctlMode: etcd.etcdctl,
    // kops: the etcd-manager-main-* pod's container, its /opt/etcd-v<version> tools, /rootfs
    ...(etcd.etcdManager && etcd.etcdctl === 'crictl' ? { EtcdManager: 'main' } : {}),
  };
}

/** planning checked `needs: ['etcd']` first; this only narrows the type */
export function etcdOf(cluster: ClusterConfig): EtcdAccess {
  if (!cluster.etcd)
    throw new Error(`cluster ${cluster.name} has no etcd access (planning checks this first)`);
  return cluster.etcd;
}
