import type { ClusterConfig, KubernetesAccess } from '../config';

/** the parameter every kubectl-using document takes: the kubeconfig a node of this kind keeps */
export function kubernetesAccessParameters(cluster: ClusterConfig): Record<string, string> {
  return { Kubeconfig: kubernetesOf(cluster).kubeconfig };
}

/** the kubernetes block; absent only for EKS, which planning refuses first (needs: etcd) */
export function kubernetesOf(cluster: ClusterConfig): KubernetesAccess {
  if (!cluster.kubernetes)
    throw new Error(`cluster ${cluster.name} has no kubectl access (EKS is driven through the EKS API)`);
  return cluster.kubernetes;
}
