import * as z from '../../zod';
import { verificationResult } from '../schemas';
import { parseSnapshotKey, SNAPSHOT_KEY_PATTERN } from '../snapshot-key';
import { DEFAULT_DELIVERY_TIMEOUT_SECONDS, defineCommand } from './spec';

/** restore a snapshot into a fresh etcd on a scratch instance and compare it with its manifest */
export const etcdRestoreVerify = defineCommand({
  name: 'etcd-restore-verify',
  target: 'scratch',
  subject: 'self',
  // the snapshot exists only for clusters with etcd; the scratch instance runs its own
  needs: ['etcd'],
  args: z
    .object({
      key: z
        .string()
        .regex(new RegExp(SNAPSHOT_KEY_PATTERN), 'must be a snapshot key <cluster>/etcd/…-r<revision>.db'),
    })
    .strict(),
  checkArgs: (args, cluster) => {
    const ref = parseSnapshotKey(args.key);
    return ref && ref.cluster === cluster ? [] : [`key: "${args.key}" is not a snapshot key of ${cluster}`];
  },
  result: verificationResult,
  executionTimeoutSeconds: 3600,
  deliveryTimeoutSeconds: DEFAULT_DELIVERY_TIMEOUT_SECONDS,
  // no access to the cluster's members at all
  parameters: (cluster, args, context) => ({
    Cluster: cluster.name,
    Bucket: context.bucket,
    Key: args.key,
    ExecutionId: context.executionId,
  }),
});
