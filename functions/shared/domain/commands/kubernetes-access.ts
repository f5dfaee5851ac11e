import * as z from '../../zod';
import type { ClusterConfig, KubernetesAccess } from '../config';
import { DEFAULT_DELIVERY_TIMEOUT_SECONDS, type ClusterNeed, type NodeKind } from './spec';

/**
 * What the node commands about Kubernetes share: the kubeconfig parameter every kubectl
 * document takes, and the shapes of a Node's name and of the owner Caretaker writes into its
 * own cordons. The documents check the same patterns again (ssm-documents/lib/kubectl.sh).
 */

/** the annotation that marks a cordon as Caretaker's own; its value is the owner (execution name) */
export const CORDONED_BY_ANNOTATION = 'caretaker.io/cordoned-by';
/** node-record's annotations */
export const PATCHED_AT_ANNOTATION = 'caretaker.io/patched-at';
export const PATCHED_BY_ANNOTATION = 'caretaker.io/patched-by';
export const PATCH_SUMMARY_ANNOTATION = 'caretaker.io/patch-summary';

/** a Node's name: a DNS subdomain (ip-10-0-1-23.eu-west-1.compute.internal, worker-1) */
export const NODE_NAME_PATTERN = '^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$';
export const nodeName = z
  .string()
  .regex(new RegExp(NODE_NAME_PATTERN), 'must be a Kubernetes Node name (a DNS subdomain)');

/** who cordoned: an execution name or ARN (letters, digits, : _ . -), at most 128 characters */
export const OWNER_PATTERN = '^[A-Za-z0-9][A-Za-z0-9:_.-]{0,127}$';
export const owner = z
  .string()
  .regex(new RegExp(OWNER_PATTERN), 'must be an execution name (letters, digits, : _ . -; at most 128)');

/** the kubeconfig document parameter: an absolute path, `{hostname}` replaced on the node */
export const KUBECONFIG_PATTERN = '^/[A-Za-z0-9._/-]*(\\{hostname\\}[A-Za-z0-9._/-]*)*$';

/** planning checked `needs: ['kubernetes']` first; this only narrows the type */
export function kubernetesOf(cluster: ClusterConfig): KubernetesAccess {
  if (!cluster.kubernetes)
    throw new Error(`cluster ${cluster.name} has no kubernetes access (planning checks this first)`);
  return cluster.kubernetes;
}

/** the parameter every kubectl document takes: the admin kubeconfig of a control-plane node */
export function kubeconfigParameter(cluster: ClusterConfig): { Kubeconfig: string } {
  return { Kubeconfig: kubernetesOf(cluster).kubeconfig };
}

/** a Node as node-status and node-inventory describe it */
export const nodeCondition = {
  unschedulable: z.boolean(),
  /** the owner in caretaker.io/cordoned-by, when Caretaker cordoned it */
  cordonedBy: z.string().optional(),
  ready: z.boolean(),
  /** lastTransitionTime of the Ready condition while it is True */
  readySince: z.string().optional(),
  /** status.nodeInfo.bootID: a new one after every reboot */
  bootID: z.string(),
  kubeletVersion: z.string(),
};

/**
 * where a kubectl command about one Node runs: on a control-plane node (its kubeconfig), about
 * any node of the cluster; EKS has no control-plane node to run it on
 */
export const KUBECTL_ABOUT_A_NODE: {
  target: NodeKind;
  subject: NodeKind;
  needs: readonly ClusterNeed[];
  deliveryTimeoutSeconds: number;
} = {
  target: 'control-plane',
  subject: 'node',
  needs: ['kubernetes'],
  deliveryTimeoutSeconds: DEFAULT_DELIVERY_TIMEOUT_SECONDS,
};
