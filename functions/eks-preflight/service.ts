import { clip } from '../publish-outcome/service';
import { approvalTimeoutSeconds } from '../shared/domain/approvals';
import { preflightReport, upgradeTarget, type UnmanagedCapacity } from '../shared/domain/eks';
import type { EksApi, EksSurroundings } from '../shared/ports';
import { eksCluster, OUTCOME_SUMMARY_MAX, type EksDeps } from '../shared/services/eks-cluster';

export interface PreflightDeps extends EksDeps {
  eks: EksApi;
  surroundings: EksSurroundings;
}

export interface PreflightInput {
  cluster: string;
  /** the execution's input, as the campaign was asked for */
  request: { version?: string; dryRun?: boolean; requestedBy?: string };
}

/** request-approval takes a summary of at most this many characters */
const APPROVAL_SUMMARY_MAX = 2000;

/**
 * The preflight of an EKS upgrade campaign: is the cluster EKS (before any EKS call), is the
 * target at most one minor ahead (after DescribeCluster, before anything else), then insights,
 * add-on versions for the target, node groups, subnets and the capacity Caretaker leaves alone.
 * Reads only. The report says `blocked` when anything stands in the way.
 * @throws ClusterNotFoundError, NotForThisKindError, InvalidInputError (a skipped minor, a
 *   downgrade, a malformed version), TransientError
 */
export async function runPreflight(input: PreflightInput, deps: PreflightDeps) {
  const cluster = await eksCluster(input.cluster, deps, 'eks-upgrade');
  const info = await deps.eks.describeCluster(input.cluster);
  const targetVersion = upgradeTarget(info.version, input.request.version);

  const [insights, installed, nodegroups, subnets, unmanaged] = await Promise.all([
    deps.eks.upgradeInsights(input.cluster),
    deps.eks.listAddons(input.cluster),
    deps.eks.managedNodegroups(input.cluster),
    deps.surroundings.subnets(info.subnetIds),
    deps.surroundings.unmanagedCapacity(input.cluster),
  ]);
  const addons = [];
  for (const addon of installed) {
    addons.push({ addon, versions: await deps.eks.addonVersions(addon.name, targetVersion) });
  }
  const notTouched: UnmanagedCapacity[] = [...unmanaged];
  if (info.autoMode && !notTouched.some((u) => u.kind === 'auto-mode')) {
    notTouched.push({ kind: 'auto-mode', name: 'EKS Auto Mode node pools', nodes: 0 });
  }
  const report = preflightReport({
    cluster: input.cluster,
    currentVersion: info.version,
    targetVersion,
    insights,
    addons,
    nodegroups,
    subnets,
    unmanaged: notTouched,
    minFreeIps: cluster.eks.minFreeIps,
    clusterStatus: info.status,
  });
  return {
    ...report,
    // publish-outcome takes at most 20,000 characters of it
    summary: clip(report.summary, OUTCOME_SUMMARY_MAX),
    blocked: report.blockers.length > 0,
    blockerText: report.blockers.join('\n'),
    dryRun: input.request.dryRun === true,
    // the approval gate needs both; a run started without a requester was started by the schedule
    requestedBy: input.request.requestedBy ?? 'schedule',
    approvalTimeoutSeconds: approvalTimeoutSeconds(cluster.approval),
    approvalSummary: clip(report.summary, APPROVAL_SUMMARY_MAX),
    // what the campaign changes, in order, as eks-start-update takes them
    addonUpdates: report.addons
      .filter((a) => a.update && a.targetVersion !== undefined)
      .map((a) => ({ kind: 'addon' as const, name: a.name, addonVersion: a.targetVersion! })),
    nodegroupUpdates: report.nodegroups
      .filter((n) => n.update)
      .map((n) => ({ kind: 'nodegroup' as const, name: n.name, version: targetVersion })),
  };
}
