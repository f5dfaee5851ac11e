import * as z from '../shared/zod';
import { s3SnapshotStore } from '../shared/adapters/aws/s3-snapshot-store';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { clusterName } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { pruneSnapshots, type PruneDeps } from './service';

export const input = z.object({ cluster: clusterName });

export const makeHandler = (deps: DepsSource<PruneDeps>) =>
  createHandler({ name: 'prune-snapshots', input, run: pruneSnapshots }, deps);

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
  store: s3SnapshotStore(requireEnv('SNAPSHOT_BUCKET')),
  clock: { now: () => new Date() },
}));
