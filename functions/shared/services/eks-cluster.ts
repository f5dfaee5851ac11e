import { createHash } from 'node:crypto';
import type { ClusterConfig } from '../domain/config';
import { describeTarget, type UpdateTarget } from '../domain/eks';
import { NotForThisKindError } from '../errors';
import type { ClusterDirectory } from '../ports';
import type { EksSettings } from '../workflows/eks';
import * as z from '../zod';

/** what an outcome message carries of a preflight report or patch plan at most (publish-outcome takes 20,000) */
export const OUTCOME_SUMMARY_MAX = 16_000;

/** what every EKS function is given */
export interface EksDeps {
  clusters: ClusterDirectory;
}

/**
 * The configured cluster, when it is an EKS cluster; asked before any EKS call.
 * @throws ClusterNotFoundError for a cluster Caretaker does not manage; NotForThisKindError for
 *   one that is not `kind: eks` (kubeadm, kops … are upgraded by their own workflows)
 */
export async function eksCluster(
  name: string,
  deps: EksDeps,
  workflow: string,
): Promise<ClusterConfig & { eks: EksSettings }> {
  const cluster = await deps.clusters.get(name);
  const eks = (cluster as { eks?: EksSettings }).eks;
  if (cluster.kind !== 'eks' || !eks) {
    throw new NotForThisKindError(
      `cluster: ${name} is a ${cluster.kind} cluster; ${workflow} works on EKS clusters (kind "eks") only. Nothing was called or changed.`,
    );
  }
  return { ...cluster, eks };
}

/** the same update asked twice (a retried Lambda) carries the same token: EKS starts it once */
export function updateToken(executionId: string, target: UpdateTarget): string {
  return createHash('sha256')
    .update(`${executionId}|${describeTarget(target)}`)
    .digest('hex')
    .slice(0, 64);
}

/** an update target as it crosses the state machine */
export const updateTarget = z.union([
  z.object({ kind: z.literal('cluster'), version: z.string().regex(/^\d{1,2}\.\d{1,3}$/) }).strict(),
  z
    .object({
      kind: z.literal('addon'),
      name: z.string().regex(/^[a-z0-9][a-z0-9._-]{0,99}$/, 'must be an add-on name'),
      addonVersion: z.string().regex(/^v?[0-9A-Za-z.+_-]{1,100}$/, 'must be an add-on version'),
    })
    .strict(),
  z
    .object({
      kind: z.literal('nodegroup'),
      name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,62}$/, 'must be a node group name'),
      version: z
        .string()
        .regex(/^\d{1,2}\.\d{1,3}$/)
        .optional(),
      releaseVersion: z
        .string()
        .regex(/^[0-9A-Za-z.+_-]{1,100}$/)
        .optional(),
    })
    .strict(),
]);

/** one step of a campaign as the outcome lists it */
export interface CampaignStep {
  description: string;
  kind: UpdateTarget['kind'];
  name?: string;
  updateId: string;
  status: string;
  errors?: string;
}

export const campaignStep = z.object({
  description: z.string().max(300),
  kind: z.enum(['cluster', 'addon', 'nodegroup']),
  name: z.string().max(100).optional(),
  updateId: z.string().max(100),
  status: z.string().max(20),
  errors: z.string().max(4000).optional(),
});
