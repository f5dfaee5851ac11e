import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { readFile } from 'node:fs/promises';
import { gzipSync } from 'node:zlib';
import {
  ETCD_MANAGER_DATA_FILE,
  ETCD_MANAGER_META_FILE,
  type EtcdManagerCluster,
} from '../functions/shared/domain/etcd-manager';

/** one backup as etcd-manager writes it into the kops state store */
export interface EtcdManagerBackupSpec {
  client: S3Client;
  bucket: string;
  /** `<state store prefix>/<kops cluster name>` */
  base: string;
  cluster: EtcdManagerCluster;
  /** a file `etcdctl snapshot save` wrote */
  snapshotFile: string;
  /** what the member reported (`etcdVersion` in the meta file) */
  etcdVersion: string;
  at: Date;
  /** etcd-manager's per-process counter, %.6d */
  sequence: number;
  memberCount?: number;
  /** replaces the gzip (corruption tests) */
  data?: Buffer;
  /** replaces the meta file's text (corruption tests) */
  meta?: string;
}

/**
 * Writes `<base>/backups/etcd/<cluster>/<RFC 3339>-<seq>/etcd.backup.gz` and `_etcd_backup.meta`
 * as etcd-manager does (kubernetes-sigs/etcd-manager pkg/backup/vfs.go AddBackup: the data first,
 * then the meta; pkg/etcdclient SnapshotSave gzips the snapshot; pkg/apis/etcd/json.go ToJson is
 * protojson with a two-space indent, so the int64 timestamp is a string). Written with the S3 API
 * from Node, the way a test or the sandbox plays etcd-manager; Caretaker itself never writes there.
 * @returns the data key
 */
export async function writeEtcdManagerBackup(spec: EtcdManagerBackupSpec): Promise<string> {
  const name = `${spec.at.toISOString().replace(/\.\d{3}Z$/, 'Z')}-${String(spec.sequence).padStart(6, '0')}`;
  const dir = `${spec.base}/backups/etcd/${spec.cluster}/${name}/`;
  const data = spec.data ?? gzipSync(await readFile(spec.snapshotFile));
  const meta =
    spec.meta ??
    JSON.stringify(
      {
        etcdVersion: spec.etcdVersion,
        timestamp: String(Math.floor(spec.at.getTime() / 1000)),
        clusterSpec: { memberCount: spec.memberCount ?? 3, etcdVersion: spec.etcdVersion },
      },
      null,
      2,
    );
  await spec.client.send(
    new PutObjectCommand({ Bucket: spec.bucket, Key: `${dir}${ETCD_MANAGER_DATA_FILE}`, Body: data }),
  );
  await spec.client.send(
    new PutObjectCommand({ Bucket: spec.bucket, Key: `${dir}${ETCD_MANAGER_META_FILE}`, Body: meta }),
  );
  return `${dir}${ETCD_MANAGER_DATA_FILE}`;
}
