import * as z from '../../zod';
import { controlPlaneUpgradeResult, releaseVersion } from './control-plane-schemas';
import { kubeconfigParameter } from './kubernetes-access';
import { DEFAULT_DELIVERY_TIMEOUT_SECONDS, defineCommand } from './spec';

/**
 * kubeadm and Kubespray control-plane nodes: `plan` captures `kubeadm upgrade plan <v>` and the
 * versions the cluster runs (static pod images, kubelets); `apply` (the first node) installs
 * kubeadm at the target and runs `kubeadm upgrade apply <v>`; `node` (every other node) runs
 * `kubeadm upgrade node`; both then install kubelet and kubectl at the target (apt or dnf) and
 * restart the kubelet.
 */
export const controlPlaneUpgrade = defineCommand({
  name: 'control-plane-upgrade',
  target: 'control-plane',
  subject: 'self',
  needs: ['etcd', 'kubernetes'],
  args: z
    .object({
      version: releaseVersion,
      phase: z.enum(['plan', 'apply', 'node']),
      packageManager: z.enum(['auto', 'apt', 'dnf']).optional(),
    })
    .strict(),
  result: controlPlaneUpgradeResult,
  executionTimeoutSeconds: 1800,
  deliveryTimeoutSeconds: DEFAULT_DELIVERY_TIMEOUT_SECONDS,
  parameters: (cluster, args) => ({
    ...kubeconfigParameter(cluster),
    Version: args.version,
    Phase: args.phase,
    PackageManager: args.packageManager ?? cluster.upgrade?.packageManager ?? 'auto',
  }),
});
