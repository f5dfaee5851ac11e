import { approvalTimeoutSeconds } from '../shared/domain/approvals';
import { PreflightRefusedError } from '../shared/errors';
import { assessPreflight, type PreflightFacts } from '../shared/domain/upgrade-gates';
import type { ClusterDirectory, NodeReplacer } from '../shared/ports';
import { launchTemplateProblem } from '../shared/domain/kops-replacement';
import { REPLACEMENT_CHECK_SECONDS, REPLACEMENT_MAX_CHECKS } from '../shared/domain/control-plane-rollout';
import { drainFrom } from '../shared/workflows/upgrade-control-plane';
import { patchingSettings } from '../shared/workflows/patch-workers';
import { POLL_SECONDS } from '../prepare-patch/service';

/**
 * The upgrade's preflight verdict and plan. The facts were gathered by the state machine
 * (instances, etcd statuses, `kubeadm upgrade plan` and the versions, alarms); this judges them
 * and adds what the cluster's config says (target groups, approval time, drain, packages).
 * @throws PreflightRefusedError listing every reason, when the upgrade must not start
 */
export async function planUpgrade(
  input: Omit<PreflightFacts, 'kind' | 'targetGroupArns'>,
  deps: { clusters: ClusterDirectory; nodes?: NodeReplacer },
) {
  const cluster = await deps.clusters.get(input.cluster);
  const verdict = assessPreflight({
    ...input,
    kind: cluster.kind,
    targetGroupArns: cluster.controlPlaneTargetGroupArns ?? [],
  });
  if (verdict.problems.length > 0) throw new PreflightRefusedError(verdict.summary);
  // kops: `kops update cluster --yes` is the user's step; an instance that already runs its
  // group's launch template version would come back unchanged (kops' own NeedUpdate test)
  if (cluster.kind === 'kops' && input.action !== 'os-patch' && deps.nodes) {
    const stale: string[] = [];
    for (const n of verdict.nodes) {
      const group = await deps.nodes.groupOf(cluster.name, n.instanceId);
      if (!group) stale.push(`${n.name} (${n.instanceId}) belongs to no Auto Scaling group`);
      else {
        const problem = launchTemplateProblem(group, n.instanceId);
        if (problem) stale.push(problem);
      }
    }
    if (stale.length > 0) {
      throw new PreflightRefusedError(
        `Upgrade of ${cluster.name} to ${verdict.to} refused:\n- ${stale.join('\n- ')}`,
      );
    }
  }
  const settings = cluster.upgrade;
  const patching = patchingSettings(cluster);
  return {
    ...verdict,
    approvalTimeoutSeconds: approvalTimeoutSeconds(cluster.approval),
    approvalBetweenNodes:
      (input.action === 'os-patch' ? cluster.controlPlanePatching : settings)?.approvalBetweenNodes ?? false,
    packageManager: settings?.packageManager ?? 'auto',
    drain: settings?.drain ?? drainFrom(cluster as unknown as Record<string, unknown>),
    // os-patch: the patching workflow's command settings, and how long a rebooted node may take to come back
    patch: {
      method: patching.method,
      scope: patching.scope,
      reboot: patching.reboot,
      pollSeconds: POLL_SECONDS,
      returnChecks: Math.ceil(patching.health.returnTimeoutSeconds / POLL_SECONDS),
    },
    // kops: how often and how long the replacement instance is waited for
    replacement: { pollSeconds: REPLACEMENT_CHECK_SECONDS, maxChecks: REPLACEMENT_MAX_CHECKS },
    targetGroups: cluster.controlPlaneTargetGroupArns?.length ?? 0,
    /** what the preflight did besides the checks, for the approval request */
    preflightNote:
      input.action === 'os-patch'
        ? `Each node gets os-patch (patching.method ${patching.method}, scope ${patching.scope}, reboot ${patching.reboot}).`
        : cluster.kind === 'kops'
          ? 'kops: Caretaker does not run kops update cluster --yes (your step); each instance is refused for replacement when it already runs its Auto Scaling group’s launch template version.'
          : 'kubeadm upgrade plan was captured in the preflight.',
    // after the control plane: the workers' kubelets, through a nested patch-workers run
    workers: input.action === 'os-patch' ? false : (settings?.workers ?? false),
  };
}
