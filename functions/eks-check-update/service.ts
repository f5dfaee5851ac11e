import { describeTarget, describeUpdateErrors, maxChecks, type UpdateTarget } from '../shared/domain/eks';
import { EksUpdateFailedError } from '../shared/errors';
import type { EksApi } from '../shared/ports';
import { eksCluster, type CampaignStep, type EksDeps } from '../shared/services/eks-cluster';

export interface CheckUpdateDeps extends EksDeps {
  eks: EksApi;
}

export interface CheckUpdateInput {
  cluster: string;
  updateId: string;
  target: UpdateTarget;
  /** checks made before this one (the state machine counts them) */
  checks?: number;
  /** the campaign's steps so far; this update's entry is replaced, not repeated */
  steps?: CampaignStep[];
}

const TIMEOUT_KEY = { cluster: 'controlPlane', addon: 'addon', nodegroup: 'nodegroup' } as const;

/**
 * One DescribeUpdate: `waiting` while InProgress (not an error: the state machine waits and asks
 * again), `succeeded`, or `failed` with the update's errors (a PodEvictionFailure names the pods)
 * when it ended Failed or Cancelled or its deadline (eks.timeoutMinutes) passed. The steps list
 * carries this update with its id and status either way.
 * @throws ClusterNotFoundError, NotForThisKindError, TransientError
 */
export async function checkUpdate(input: CheckUpdateInput, deps: CheckUpdateDeps) {
  const cluster = await eksCluster(input.cluster, deps, 'an EKS update');
  const checks = (input.checks ?? 0) + 1;
  const update = await deps.eks.describeUpdate(input.cluster, input.updateId, input.target);
  const forced = input.target.kind === 'nodegroup' && cluster.eks.forceNodegroupUpdate;
  const minutes = cluster.eks.timeoutMinutes[TIMEOUT_KEY[input.target.kind]];
  const step: CampaignStep = {
    description: describeTarget(input.target),
    kind: input.target.kind,
    ...(input.target.kind !== 'cluster' && { name: input.target.name }),
    updateId: update.id,
    status: update.status,
  };
  const done = update.status === 'Successful';
  const failed = update.status === 'Failed' || update.status === 'Cancelled';
  const expired = !done && !failed && checks >= maxChecks(input.target.kind, minutes);
  let error: { Error: string; Cause: string } | undefined;
  if (failed || expired) {
    const e = new EksUpdateFailedError(
      failed
        ? describeUpdateErrors(input.target, update, forced)
        : `${step.description}: update ${update.id} is still ${update.status} after ${minutes} minutes (eks.timeoutMinutes.${TIMEOUT_KEY[input.target.kind]}); Caretaker stopped waiting. EKS goes on with it: check it with aws eks describe-update before running again.`,
    );
    step.errors = e.message;
    error = { Error: e.name, Cause: e.message };
  }
  const steps = [...(input.steps ?? []).filter((s) => s.updateId !== step.updateId), step];
  const outcome = done ? 'succeeded' : error ? 'failed' : 'waiting';
  return { outcome, status: update.status, checks, steps, ...(error && { error }) };
}
