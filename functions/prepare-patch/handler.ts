import * as z from '../shared/zod';
import { ec2Inventory } from '../shared/adapters/aws/ec2-inventory';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { executionName } from '../shared/domain/patching/keys';
import { clusterName, executionId } from '../shared/domain/schemas';
import { releaseVersion } from '../shared/domain/commands/control-plane-schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { preparePatch, type PreparePatchDeps } from './service';

export const input = z.object({
  cluster: clusterName,
  executionName,
  now: z.boolean().optional(),
  /** null from the ASL when the run patches the OS */
  kubernetesVersion: releaseVersion.nullish().transform((v) => v ?? undefined),
  parentOwner: executionId.nullish().transform((v) => v ?? undefined),
});

export const makeHandler = (deps: DepsSource<PreparePatchDeps>) =>
  createHandler({ name: 'prepare-patch', input, run: preparePatch }, deps);

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
  inventory: ec2Inventory(),
  clock: { now: () => new Date() },
}));
