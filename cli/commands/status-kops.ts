import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListObjectsV2Command,
  type S3Client,
} from '@aws-sdk/client-s3';
import type { ClusterConfig } from '../../functions/shared/domain/config';
import {
  etcdManagerBackupsPrefix,
  etcdManagerVerificationKey,
  listedBackups,
  type EtcdManagerCluster,
} from '../../functions/shared/domain/etcd-manager';
import { parseSnapshotKey, snapshotPrefix } from '../../functions/shared/domain/snapshot-key';
import { VERIFIED_TAG } from '../../functions/shared/domain/verification';
import type { Io } from '../context';
import { bytes, duration, isoSeconds } from '../format';

/**
 * `caretaker status` on kops: etcd-manager's own backups in the state store (backup.source
 * etcd-manager) with Caretaker's verdict on each from its own bucket, and the events etcd's series
 * when etcd.events is on. Reads only: a listing per series and one object or tag read per newest.
 */

/** Caretaker's verdict on a backup: undefined until restore-verify judged it */
interface Verdict {
  verified: boolean;
  failedCheck?: string;
  reason?: string;
  verifiedAt?: string;
}

export interface KopsBackup {
  series: EtcdManagerCluster;
  /** s3://bucket/key of the newest backup, undefined when there is none */
  url?: string;
  /** where they are listed, for "none under ..." */
  listed: string;
  takenAt?: Date;
  size?: number;
  revision?: number;
  verdict?: Verdict;
}

async function listAll(s3: S3Client, bucket: string, prefix: string) {
  const objects: { key: string; size?: number }[] = [];
  let ContinuationToken: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken }),
    );
    for (const o of page.Contents ?? []) if (o.Key) objects.push({ key: o.Key, size: o.Size });
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return objects;
}

/** the record restore-verify wrote in Caretaker's bucket; undefined when there is none yet */
async function readVerdict(s3: S3Client, bucket: string, key: string): Promise<Verdict | undefined> {
  try {
    const out = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
    const body = JSON.parse((await out.Body?.transformToString()) ?? '{}') as Verdict;
    return {
      verified: body.verified === true,
      failedCheck: body.failedCheck,
      reason: body.reason,
      verifiedAt: body.verifiedAt,
    };
  } catch (e) {
    if ((e as { name?: string }).name === 'NoSuchKey') return undefined;
    throw e;
  }
}

/** the series Caretaker shows for this cluster beyond its main snapshots: [] for anything but kops */
export async function kopsBackups(
  s3: S3Client,
  bucket: string,
  cluster: ClusterConfig,
): Promise<KopsBackup[]> {
  if (cluster.kind !== 'kops') return [];
  const events = cluster.etcd?.events === true;
  const out: KopsBackup[] = [];
  if (cluster.backup.source === 'etcd-manager' && cluster.kops) {
    const store = cluster.kops.stateStore.bucket;
    for (const series of (events ? ['main', 'events'] : ['main']) as EtcdManagerCluster[]) {
      const prefix = etcdManagerBackupsPrefix(cluster.kops, series);
      const objects = await listAll(s3, store, prefix);
      const newest = listedBackups(objects.map((o) => o.key))[0];
      if (!newest) {
        out.push({ series, listed: `s3://${store}/${prefix}` });
        continue;
      }
      out.push({
        series,
        listed: `s3://${store}/${prefix}`,
        url: `s3://${store}/${newest.key}`,
        takenAt: newest.takenAt,
        size: objects.find((o) => o.key === newest.key)?.size,
        verdict: await readVerdict(s3, bucket, etcdManagerVerificationKey(cluster.name, newest)),
      });
    }
    return out;
  }
  if (!events) return out;
  // Caretaker's own events series, beside the main snapshots in its bucket
  const prefix = snapshotPrefix(cluster.name, 'events');
  const objects = await listAll(s3, bucket, prefix);
  const newest = objects
    .map((o) => ({ ref: parseSnapshotKey(o.key, 'events'), size: o.size }))
    .filter((x) => x.ref?.cluster === cluster.name)
    .sort(
      (a, b) => b.ref!.takenAt.getTime() - a.ref!.takenAt.getTime() || b.ref!.revision - a.ref!.revision,
    )[0];
  if (!newest?.ref) return [{ series: 'events', listed: `s3://${bucket}/${prefix}` }];
  const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: newest.ref.key }));
  const tag = tags.TagSet?.find((t) => t.Key === VERIFIED_TAG)?.Value;
  return [
    {
      series: 'events',
      listed: `s3://${bucket}/${prefix}`,
      url: `s3://${bucket}/${newest.ref.key}`,
      takenAt: newest.ref.takenAt,
      revision: newest.ref.revision,
      size: newest.size,
      verdict: tag === undefined ? undefined : { verified: tag === 'true' },
    },
  ];
}

function verdictText(v: Verdict | undefined): string {
  if (!v) return 'not yet: restore-verify has not judged it';
  if (v.verified) return `yes: a restore of it was checked${v.verifiedAt ? ` (${v.verifiedAt})` : ''}`;
  return `NO: ${v.failedCheck ? `the ${v.failedCheck} check failed` : 'a restore of it failed a check'}${v.reason ? `: ${v.reason}` : ''}`;
}

export function kopsBackupsJson(backups: KopsBackup[], now: Date) {
  return backups.map((b) => ({
    series: b.series,
    listed: b.listed,
    newest: b.url
      ? {
          url: b.url,
          takenAt: isoSeconds(b.takenAt!),
          ageSeconds: Math.round((now.getTime() - b.takenAt!.getTime()) / 1000),
          size: b.size ?? null,
          ...(b.revision !== undefined ? { revision: b.revision } : {}),
          verified: b.verdict ? b.verdict.verified : null,
          ...(b.verdict?.failedCheck ? { failedCheck: b.verdict.failedCheck } : {}),
        }
      : null,
  }));
}

/** the text block: one entry per series, as the main snapshot's is printed */
export function writeKopsBackups(io: Io, cluster: ClusterConfig, backups: KopsBackup[], now: Date): void {
  if (backups.length === 0) return;
  if (cluster.backup.source === 'etcd-manager') {
    io.stdout.write(
      `etcd-manager takes this cluster's backups (backup.source etcd-manager); Caretaker verifies them\n`,
    );
  }
  for (const b of backups) {
    const label = cluster.backup.source === 'etcd-manager' ? `${b.series.padEnd(6)}  ` : 'events    ';
    if (!b.url) {
      io.stdout.write(`${label}none under ${b.listed}\n`);
      continue;
    }
    io.stdout.write(`${label}${b.url}\n`);
    io.stdout.write(
      `  taken     ${isoSeconds(b.takenAt!)} (${duration(now.getTime() - b.takenAt!.getTime())} ago)${b.revision !== undefined ? `, revision ${b.revision}` : ''}\n`,
    );
    io.stdout.write(`  size      ${bytes(b.size)}\n`);
    io.stdout.write(`  verified  ${verdictText(b.verdict)}\n`);
  }
}
