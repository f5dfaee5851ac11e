import * as z from '../shared/zod';
import { elbv2TargetGroups } from '../shared/adapters/aws/elbv2-target-groups';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { clusterName, instanceId } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { deregisterTargets, type TargetDeps } from './service';

export const input = z.object({
  cluster: clusterName,
  // the rollout's node as the plan gives it (name, position, steps… besides these)
  node: z
    .object({
      instanceId,
      privateIp: z
        .string()
        .regex(/^\d{1,3}(\.\d{1,3}){3}$/, 'must be an IPv4 address')
        .optional(),
    })
    .loose(),
});

export const makeHandler = (deps: DepsSource<TargetDeps>) =>
  createHandler({ name: 'deregister-targets', input, run: deregisterTargets }, deps);

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
  targetGroups: elbv2TargetGroups(),
}));
