import * as z from '../shared/zod';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { controlPlaneUpgradeResult, releaseVersion } from '../shared/domain/commands/control-plane-schemas';
import { clusterName, instanceId, memberFailure, memberStatus } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import type { ClusterDirectory } from '../shared/ports';
import { planUpgrade } from './service';

export const input = z.object({
  cluster: clusterName,
  version: releaseVersion,
  instances: z.array(
    z.object({ instanceId, name: z.string().optional(), privateIp: z.string().optional() }).loose(),
  ),
  statuses: z.array(z.union([memberFailure, memberStatus])),
  plan: controlPlaneUpgradeResult,
  alarms: z
    .object({
      firing: z.array(z.object({ name: z.string(), reason: z.string().optional() })),
    })
    .loose(),
});

export const makeHandler = (deps: DepsSource<{ clusters: ClusterDirectory }>) =>
  createHandler({ name: 'plan-upgrade', input, run: planUpgrade }, deps);

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
}));
