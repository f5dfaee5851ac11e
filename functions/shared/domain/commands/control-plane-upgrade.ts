import * as z from '../../zod';
import { controlPlaneUpgradeResult, releaseVersion } from './control-plane-schemas';
import { kubeconfigParameter } from './kubernetes-access';
import { DEFAULT_DELIVERY_TIMEOUT_SECONDS, defineCommand } from './spec';

/**
 * kubeadm and Kubespray control-plane nodes: `plan` captures `kubeadm upgrade plan <v>` and the
 * versions the cluster runs (static pod images, kubelets); `inventory` only those versions, with
 * no kubeadm needed (kops nodes, patch-control-plane; `version` may be absent); `apply` (the first node) installs
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
      version: releaseVersion.optional(),
      phase: z.enum(['plan', 'inventory', 'apply', 'node']),
      packageManager: z.enum(['auto', 'apt', 'dnf']).optional(),
    })
    .strict()
    .refine((a) => a.phase === 'inventory' || a.version !== undefined, {
      message: 'version: required for plan, apply and node',
      path: ['version'],
    }),
  result: controlPlaneUpgradeResult,
  executionTimeoutSeconds: 1800,
  deliveryTimeoutSeconds: DEFAULT_DELIVERY_TIMEOUT_SECONDS,
  parameters: (cluster, args) => ({
    ...kubeconfigParameter(cluster),
    Version: args.version ?? '',
    Phase: args.phase,
    PackageManager: args.packageManager ?? cluster.upgrade?.packageManager ?? 'auto',
  }),
});
