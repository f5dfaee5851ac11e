import * as z from '../../zod';
import { releaseVersion } from './control-plane-schemas';
import { osPatchResult } from './os-patch';
import { DEFAULT_DELIVERY_TIMEOUT_SECONDS, defineCommand } from './spec';

/**
 * kubelet-upgrade's CARETAKER_RESULT: os-patch's shape (the patch-workers run waits for the node
 * with bootIdAfter and records `packages` and `changed` the same way), plus what was upgraded
 */
export const kubeletUpgradeResult = osPatchResult.extend({
  manager: z.enum(['apt', 'dnf']),
  /** the release installed: the Node must report it before it counts */
  version: releaseVersion,
  /** `kubeadm upgrade node` */
  kubeadm: z.string(),
  kubeletRestarted: z.boolean(),
});
export type KubeletUpgradeResult = z.infer<typeof kubeletUpgradeResult>;

/**
 * A kubeadm or Kubespray worker to a Kubernetes release, as kubeadm's worker upgrade does it:
 * kubeadm at the target, `kubeadm upgrade node`, kubelet and kubectl at the target (the package
 * logic control-plane-upgrade uses, ssm-documents/lib/kubernetes-packages.sh), kubelet restart.
 * Runs on the worker itself, after the patch-workers run drained it. No reboot.
 */
export const kubeletUpgrade = defineCommand({
  name: 'kubelet-upgrade',
  target: 'worker',
  subject: 'self',
  needs: ['kubernetes'],
  args: z
    .object({
      version: releaseVersion,
      packageManager: z.enum(['auto', 'apt', 'dnf']).optional(),
    })
    .strict(),
  result: kubeletUpgradeResult,
  executionTimeoutSeconds: 1800,
  deliveryTimeoutSeconds: DEFAULT_DELIVERY_TIMEOUT_SECONDS,
  parameters: (cluster, args) => ({
    Version: args.version,
    PackageManager: args.packageManager ?? cluster.upgrade?.packageManager ?? 'auto',
  }),
});
