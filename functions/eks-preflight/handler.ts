import { EKSClient } from '@aws-sdk/client-eks';
import { eksApi, eksSurroundings } from '../shared/adapters/aws/eks-api';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { clusterName } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { eksUpgrade } from '../shared/workflows/eks-upgrade';
import * as z from '../shared/zod';
import { runPreflight, type PreflightDeps } from './service';

// request: the execution's input ($$.Execution.Input), checked by the workflow's own schema
export const input = z.object({ cluster: clusterName, request: eksUpgrade.input });

export const makeHandler = (deps: DepsSource<PreflightDeps>) =>
  createHandler({ name: 'eks-preflight', input, run: runPreflight }, deps);

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
  eks: eksApi(new EKSClient({})),
  surroundings: eksSurroundings(),
}));
