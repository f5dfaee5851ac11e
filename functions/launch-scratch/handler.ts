import * as z from '../shared/zod';
import { ec2ScratchFleet } from '../shared/adapters/aws/ec2-scratch-fleet';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { clusterName, executionId } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { launchScratch, type ScratchDeps } from './service';

export const input = z.object({ cluster: clusterName, executionId });

export const makeHandler = (deps: DepsSource<ScratchDeps>) =>
  createHandler({ name: 'launch-scratch', input, run: launchScratch }, deps);

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
  fleet: ec2ScratchFleet(),
  clock: { now: () => new Date() },
}));
