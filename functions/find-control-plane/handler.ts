import * as z from '../shared/zod';
import { ec2Inventory } from '../shared/adapters/aws/ec2-inventory';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { clusterName } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { findControlPlane, type FindControlPlaneDeps } from './service';

export const input = z.object({ cluster: clusterName });

export const makeHandler = (deps: DepsSource<FindControlPlaneDeps>) =>
  createHandler({ name: 'find-control-plane', input, run: findControlPlane }, deps);

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
  inventory: ec2Inventory(),
}));
