import { clip } from '../publish-outcome/service';
import { patchPlan, type ManagedNodegroup } from '../shared/domain/eks';
import type { Clock, EksApi, EksSurroundings } from '../shared/ports';
import { eksCluster, OUTCOME_SUMMARY_MAX, type EksDeps } from '../shared/services/eks-cluster';

export interface PlanPatchDeps extends EksDeps {
  eks: EksApi;
  surroundings: EksSurroundings;
  clock: Clock;
}

export interface PlanPatchInput {
  cluster: string;
  request: { dryRun?: boolean; requestedBy?: string };
}

/**
 * Which managed node groups are behind the newest EKS-optimized AMI release for their own
 * Kubernetes version (SSM's public parameters), and when the maintenance window closes
 * (eks.patch.windowMinutes from now). Reads only.
 * @throws ClusterNotFoundError, NotForThisKindError, TransientError
 */
export async function planPatch(input: PlanPatchInput, deps: PlanPatchDeps) {
  const cluster = await eksCluster(input.cluster, deps, 'eks-patch-nodegroups');
  const info = await deps.eks.describeCluster(input.cluster);
  const [nodegroups, notTouched] = await Promise.all([
    deps.eks.managedNodegroups(input.cluster),
    deps.surroundings.unmanagedCapacity(input.cluster),
  ]);
  const latest = new Map<string, string | undefined>();
  for (const ng of nodegroups) {
    const key = `${ng.amiType ?? ''}/${ng.version}`;
    if (!latest.has(key) && ng.amiType && !ng.customAmi) {
      latest.set(key, await deps.surroundings.latestReleaseVersion(ng.amiType, ng.version));
    }
  }
  const plan = patchPlan(nodegroups, (ng: ManagedNodegroup) =>
    latest.get(`${ng.amiType ?? ''}/${ng.version}`),
  );
  const windowEndsAt = new Date(
    deps.clock.now().getTime() + cluster.eks.patch.windowMinutes * 60_000,
  ).toISOString();
  const moving = plan.filter((p) => p.update);
  const summary = [
    `Node-group patching of ${input.cluster} (Kubernetes ${info.version}), window until ${windowEndsAt}:`,
    ...plan.map((p) => `- ${p.name} (${p.version}): ${p.update ? `${p.reason}` : `left alone: ${p.reason}`}`),
    ...notTouched.map((n) => `- not touched (${n.kind}): ${n.name}, ${n.nodes} node(s)`),
  ].join('\n');
  return {
    cluster: input.cluster,
    kubernetesVersion: info.version,
    nodegroups: plan,
    notTouched,
    windowEndsAt,
    dryRun: input.request.dryRun === true,
    summary: clip(summary, OUTCOME_SUMMARY_MAX),
    updates: moving.map((p) => ({
      kind: 'nodegroup' as const,
      name: p.name,
      releaseVersion: p.latestReleaseVersion!,
    })),
  };
}
