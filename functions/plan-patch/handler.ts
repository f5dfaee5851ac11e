import * as z from '../shared/zod';
import { ec2Inventory } from '../shared/adapters/aws/ec2-inventory';
import { s3SnapshotStore } from '../shared/adapters/aws/s3-snapshot-store';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { executionName } from '../shared/domain/patching/keys';
import { clusterName } from '../shared/domain/schemas';
import { releaseVersion } from '../shared/domain/commands/control-plane-schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { planPatchRun, type PlanPatchDeps } from './service';

export const input = z.object({
  cluster: clusterName,
  executionName,
  dryRun: z.boolean().optional(),
  /** null from the ASL when the run patches the OS */
  kubernetesVersion: releaseVersion.nullish().transform((v) => v ?? undefined),
  apiServerVersion: z
    .string()
    .max(100)
    .nullish()
    .transform((v) => v ?? undefined),
});

export const makeHandler = (deps: DepsSource<PlanPatchDeps>) =>
  createHandler({ name: 'plan-patch', input, run: planPatchRun }, deps);

export const handler = makeHandler(() => {
  const bucket = requireEnv('SNAPSHOT_BUCKET');
  return {
    clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
    inventory: ec2Inventory(),
    store: s3SnapshotStore(bucket),
    clock: { now: () => new Date() },
    bucket,
  };
});
