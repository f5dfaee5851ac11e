import * as z from '../shared/zod';
import { s3SnapshotStore } from '../shared/adapters/aws/s3-snapshot-store';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { clusterName } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { pickSnapshot, type PickSnapshotDeps } from './service';

export const input = z.object({ cluster: clusterName, key: z.string().min(1).max(1024).optional() });

export const makeHandler = (deps: DepsSource<PickSnapshotDeps>) =>
  createHandler({ name: 'pick-snapshot', input, run: pickSnapshot }, deps);

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
  store: s3SnapshotStore(requireEnv('SNAPSHOT_BUCKET')),
  // kops: etcd-manager's backups, read only (IAM allows list and get under the backups prefix)
  stateStores: (bucket: string) => s3SnapshotStore(bucket),
  clock: { now: () => new Date() },
}));
