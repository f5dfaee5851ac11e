import * as z from '../../zod';
import { InvalidInputError } from '../../errors';
import { verificationResult } from '../schemas';
import { parseAnySnapshotKey, SNAPSHOT_KEY_PATTERN } from '../snapshot-key';
import { ETCD_MANAGER_KEY_BODY, isBackupOf, parseEtcdManagerKey } from '../etcd-manager';
import { DEFAULT_DELIVERY_TIMEOUT_SECONDS, defineCommand } from './spec';

/**
 * What the document's Key parameter allows, as one pattern (a test compares it with the YAML):
 * a Caretaker snapshot key, or (kops, backup.source etcd-manager) an etcd-manager backup's
 * `…/backups/etcd/<main|events>/<name>/etcd.backup.gz` in the state store.
 */
export const RESTORE_KEY_PATTERN = `^(${SNAPSHOT_KEY_PATTERN.slice(1, -1)}|${ETCD_MANAGER_KEY_BODY})$`;

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
        .regex(
          new RegExp(RESTORE_KEY_PATTERN),
          "must be a snapshot key <cluster>/etcd/[events/]…-r<revision>.db or an etcd-manager backup's …/backups/etcd/main/<name>/etcd.backup.gz",
        ),
    })
    .strict(),
  checkArgs: (args, cluster) => {
    if (parseEtcdManagerKey(args.key)) return []; // its state store is checked with the cluster's config
    const ref = parseAnySnapshotKey(args.key);
    return ref && ref.cluster === cluster ? [] : [`key: "${args.key}" is not a snapshot key of ${cluster}`];
  },
  result: verificationResult,
  executionTimeoutSeconds: 3600,
  deliveryTimeoutSeconds: DEFAULT_DELIVERY_TIMEOUT_SECONDS,
  // no access to the cluster's members at all
  parameters: (cluster, args, context): Record<string, string> => {
    const backup = parseEtcdManagerKey(args.key);
    if (!backup) {
      return {
        Cluster: cluster.name,
        Bucket: context.bucket,
        Key: args.key,
        ExecutionId: context.executionId,
      };
    }
    if (!cluster.kops || !isBackupOf(backup, cluster.kops)) {
      throw new InvalidInputError(
        `args.key: "${args.key}" is not an etcd-manager backup in cluster ${cluster.name}'s kops state store`,
      );
    }
    // read-only from the state store; the scratch role may read exactly its backups prefix
    return {
      Cluster: cluster.name,
      Bucket: cluster.kops.stateStore.bucket,
      Key: args.key,
      ExecutionId: context.executionId,
      Source: 'etcd-manager',
    };
  },
});
