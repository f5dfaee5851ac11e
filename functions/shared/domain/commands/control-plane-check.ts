import * as z from '../../zod';
import { etcdAccessParameters, etcdOf } from './etcd-access';
import { controlPlaneCheckResult, releaseVersion } from './control-plane-schemas';
import { kubeconfigParameter, nodeName } from './kubernetes-access';
import { DEFAULT_DELIVERY_TIMEOUT_SECONDS, defineCommand } from './spec';

/** the API server port of each installer: kubeadm and Kubespray 6443, kops 443 */
export const API_SERVER_PORTS = { kubeadm: 6443, kubespray: 6443, kops: 443 } as const;

/**
 * Read-only facts about one control-plane node for the gates before and after it changes: its own
 * API server's /readyz, its Node (Ready, kubelet version), its static pods' images, every
 * control-plane Node, and every etcd member's health. The judging is the gate's (judge-node-gate).
 */
export const controlPlaneCheck = defineCommand({
  name: 'control-plane-check',
  target: 'control-plane',
  subject: 'self',
  needs: ['etcd', 'kubernetes'],
  // an empty version (patch-control-plane) checks no versions, like none
  args: z.object({ node: nodeName, version: releaseVersion.or(z.literal('')).optional() }).strict(),
  result: controlPlaneCheckResult,
  executionTimeoutSeconds: 180,
  deliveryTimeoutSeconds: DEFAULT_DELIVERY_TIMEOUT_SECONDS,
  parameters: (cluster, args) => ({
    ...etcdAccessParameters(etcdOf(cluster)),
    ...kubeconfigParameter(cluster),
    NodeName: args.node,
    Version: args.version ?? '',
    ApiServerPort: String(cluster.kind === 'eks' ? 443 : API_SERVER_PORTS[cluster.kind]),
  }),
});
