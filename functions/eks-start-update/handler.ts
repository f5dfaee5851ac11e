import { EKSClient } from '@aws-sdk/client-eks';
import { eksApi } from '../shared/adapters/aws/eks-api';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { clusterName, executionId, isoTime } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { updateTarget } from '../shared/services/eks-cluster';
import * as z from '../shared/zod';
import { startUpdate, type StartUpdateDeps } from './service';

export const input = z.object({
  cluster: clusterName,
  executionId,
  target: updateTarget,
  notAfter: isoTime.optional(),
});

export const makeHandler = (deps: DepsSource<StartUpdateDeps>) =>
  createHandler({ name: 'eks-start-update', input, run: startUpdate }, deps);

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
  eks: eksApi(new EKSClient({})),
  clock: { now: () => new Date() },
}));
