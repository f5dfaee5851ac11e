import { describeTarget, type UpdateTarget } from '../shared/domain/eks';
import type { Clock, EksApi } from '../shared/ports';
import { eksCluster, updateToken, type EksDeps } from '../shared/services/eks-cluster';

export interface StartUpdateDeps extends EksDeps {
  eks: EksApi;
  clock: Clock;
}

export interface StartUpdateInput {
  cluster: string;
  executionId: string;
  target: UpdateTarget;
  /** the end of a maintenance window: after it, nothing new starts */
  notAfter?: string;
}

/**
 * Starts one EKS update: UpdateClusterVersion, UpdateAddon (resolveConflicts PRESERVE) or
 * UpdateNodegroupVersion (`force` only when the cluster's eks.forceNodegroupUpdate says so). The
 * client request token comes from the execution and the target, so a retry starts nothing new.
 * Past `notAfter` it starts nothing and says so.
 * @throws ClusterNotFoundError, NotForThisKindError, TransientError; EKS's own refusals
 *   (ResourceInUseException: another update runs) as they are
 */
export async function startUpdate(input: StartUpdateInput, deps: StartUpdateDeps) {
  const cluster = await eksCluster(input.cluster, deps, 'an EKS update');
  const description = describeTarget(input.target);
  const now = deps.clock.now();
  if (input.notAfter !== undefined && now.getTime() > Date.parse(input.notAfter)) {
    return {
      started: false as const,
      target: input.target,
      description,
      reason: `The maintenance window closed at ${input.notAfter}: ${description} and the node groups after it were not started; the next window picks them up.`,
    };
  }
  const force = input.target.kind === 'nodegroup' && cluster.eks.forceNodegroupUpdate;
  const { updateId } = await deps.eks.startUpdate(input.cluster, input.target, {
    force,
    token: updateToken(input.executionId, input.target),
  });
  return {
    started: true as const,
    updateId,
    target: input.target,
    description,
    forced: force,
    startedAt: now.toISOString(),
  };
}
