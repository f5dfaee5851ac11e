import { approvalTimeoutSeconds } from '../shared/domain/approvals';
import { PreflightRefusedError } from '../shared/errors';
import { assessPreflight, type PreflightFacts } from '../shared/domain/upgrade-gates';
import type { ClusterDirectory } from '../shared/ports';

/**
 * The upgrade's preflight verdict and plan. The facts were gathered by the state machine
 * (instances, etcd statuses, `kubeadm upgrade plan` and the versions, alarms); this judges them
 * and adds what the cluster's config says (target groups, approval time, drain, packages).
 * @throws PreflightRefusedError listing every reason, when the upgrade must not start
 */
export async function planUpgrade(
  input: Omit<PreflightFacts, 'kind' | 'targetGroupArns'>,
  deps: { clusters: ClusterDirectory },
) {
  const cluster = await deps.clusters.get(input.cluster);
  const verdict = assessPreflight({
    ...input,
    kind: cluster.kind,
    targetGroupArns: cluster.controlPlaneTargetGroupArns ?? [],
  });
  if (verdict.problems.length > 0) throw new PreflightRefusedError(verdict.summary);
  const settings = cluster.upgrade;
  return {
    ...verdict,
    approvalTimeoutSeconds: approvalTimeoutSeconds(cluster.approval),
    approvalBetweenNodes: settings?.approvalBetweenNodes ?? false,
    packageManager: settings?.packageManager ?? 'auto',
    drain: settings?.drain,
    targetGroups: cluster.controlPlaneTargetGroupArns?.length ?? 0,
    // after the control plane: the workers' kubelets, through a nested patch-workers run
    workers: settings?.workers ?? false,
  };
}
