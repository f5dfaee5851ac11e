import * as z from '../shared/zod';
import { emfMetricSink } from '../shared/adapters/aws/emf-metric-sink';
import { s3SnapshotStore } from '../shared/adapters/aws/s3-snapshot-store';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { executionName } from '../shared/domain/patching/keys';
import { clusterName } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { finishPatch, type FinishPatchDeps } from './service';

export const input = z.object({
  cluster: clusterName,
  executionName,
  error: z.object({ Error: z.string(), Cause: z.string().optional() }).nullable().optional(),
});

export const makeHandler = (deps: DepsSource<FinishPatchDeps>) =>
  createHandler({ name: 'finish-patch', input, run: finishPatch }, deps);

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
  store: s3SnapshotStore(requireEnv('SNAPSHOT_BUCKET')),
  metrics: emfMetricSink(),
  clock: { now: () => new Date() },
}));
