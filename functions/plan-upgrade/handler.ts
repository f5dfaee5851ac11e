import * as z from '../shared/zod';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { controlPlaneUpgradeResult, releaseVersion } from '../shared/domain/commands/control-plane-schemas';
import { clusterName, instanceId, memberFailure, memberStatus } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import type { ClusterDirectory, NodeReplacer } from '../shared/ports';
import { ec2NodeReplacer } from '../shared/adapters/aws/ec2-node-replacer';
import { planUpgrade } from './service';

export const input = z.object({
  cluster: clusterName,
  /** os-patch: patch-control-plane (no version); absent or upgrade: upgrade-control-plane */
  action: z.enum(['upgrade', 'os-patch']).optional(),
  /** the target release; empty for os-patch */
  version: releaseVersion.or(z.literal('')),
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

export const makeHandler = (deps: DepsSource<{ clusters: ClusterDirectory; nodes?: NodeReplacer }>) =>
  createHandler({ name: 'plan-upgrade', input, run: planUpgrade }, deps);

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
  // kops: the preflight compares each instance's launch template with its group's
  nodes: ec2NodeReplacer(),
}));
