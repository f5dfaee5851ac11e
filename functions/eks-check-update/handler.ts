import { EKSClient } from '@aws-sdk/client-eks';
import { eksApi } from '../shared/adapters/aws/eks-api';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { clusterName } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { campaignStep, updateTarget } from '../shared/services/eks-cluster';
import * as z from '../shared/zod';
import { checkUpdate, type CheckUpdateDeps } from './service';

export const input = z.object({
  cluster: clusterName,
  updateId: z.string().regex(/^[A-Za-z0-9-]{1,100}$/, 'must be an EKS update id'),
  target: updateTarget,
  checks: z.number().int().min(0).optional(),
  steps: z.array(campaignStep).max(200).optional(),
});

export const makeHandler = (deps: DepsSource<CheckUpdateDeps>) =>
  createHandler({ name: 'eks-check-update', input, run: checkUpdate }, deps);

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
  eks: eksApi(new EKSClient({})),
}));
