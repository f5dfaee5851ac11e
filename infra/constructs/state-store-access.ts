import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { ClusterConfig } from '../../functions/shared/domain/config';
import { ETCD_MANAGER_CLUSTERS, etcdManagerBackupsPrefix } from '../../functions/shared/domain/etcd-manager';
import type { CaretakerFunction } from './caretaker-function';
import { nagArn } from './restore-verify-workflow';

/**
 * Read-only access to etcd-manager's own backups in a kops state store: list and get under
 * `<prefix>/<kops cluster>/backups/etcd/` and nothing else of the state store (which also holds
 * the cluster's secrets and configuration). No write, tag or delete: retention is etcd-manager's.
 */
export interface StateStoreBackups {
  cluster: string;
  bucketArn: string;
  /** `<prefix>/<kops cluster>/backups/etcd/` */
  backupsPrefix: string;
  objectsArn: string;
}

/** the kops clusters whose restore verification reads etcd-manager's backups */
export function stateStoreBackups(stack: Stack, clusters: readonly ClusterConfig[]): StateStoreBackups[] {
  return clusters.flatMap((c) => {
    if (c.kind !== 'kops' || c.backup.source !== 'etcd-manager' || !c.kops || !c.restoreVerify) return [];
    const backupsPrefix = etcdManagerBackupsPrefix(c.kops, 'main').replace(/main\/$/, '');
    const bucketArn = `arn:${stack.partition}:s3:::${c.kops.stateStore.bucket}`;
    return [{ cluster: c.name, bucketArn, backupsPrefix, objectsArn: `${bucketArn}/${backupsPrefix}*` }];
  });
}

/** pick-snapshot: list the backups of main (and events) and head their meta files */
export function allowBackupListing(fn: CaretakerFunction, stores: readonly StateStoreBackups[]): void {
  for (const s of stores) {
    fn.allow({
      sid: `ListEtcdManagerBackups${sidOf(s.cluster)}`,
      actions: ['s3:ListBucket'],
      resources: [s.bucketArn],
      conditions: {
        StringLike: { 's3:prefix': ETCD_MANAGER_CLUSTERS.map((c) => `${s.backupsPrefix}${c}/*`) },
      },
    });
    fn.allow({
      sid: `HeadEtcdManagerBackups${sidOf(s.cluster)}`,
      actions: ['s3:GetObject'],
      resources: [s.objectsArn],
    });
    acknowledge(fn.role, s, 'pick-snapshot');
  }
}

/** the scratch instance: download the backup it verifies */
export function allowBackupDownloads(policy: iam.ManagedPolicy, store: StateStoreBackups): void {
  policy.addStatements(
    new iam.PolicyStatement({
      sid: 'DownloadEtcdManagerBackups',
      actions: ['s3:GetObject'],
      resources: [store.objectsArn],
    }),
  );
  acknowledge(policy, store, 'the scratch instance');
}

function acknowledge(target: iam.IRole | iam.ManagedPolicy, s: StateStoreBackups, who: string): void {
  Validations.of(target).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagArn(s.objectsArn, Stack.of(target))}]`,
    reason: `etcd-manager names each backup by its time: ${who} reads (never writes) under the kops state store's ${s.backupsPrefix} only`,
  });
}

/** a statement id from a cluster name (letters and digits only) */
function sidOf(cluster: string): string {
  return cluster
    .split('-')
    .map((p) => p.charAt(0).toUpperCase() + p.slice(1))
    .join('');
}
