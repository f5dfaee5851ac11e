import { GetObjectTaggingCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';
import {
  parseSnapshotKey,
  snapshotPrefix,
  type SnapshotRef,
} from '../../functions/shared/domain/snapshot-key';
import { VERIFIED_TAG } from '../../functions/shared/domain/verification';
import { findCluster, loadConfig } from '../config';
import type { CliDeps, Io } from '../context';
import { bytes, duration, isoSeconds, json } from '../format';
import { listClusterExecutions, StackLookup } from '../stack';
import { workflowByCommand } from '../workflows';
import { executionRow, executionTable } from './history';
import { kopsBackups, kopsBackupsJson, writeKopsBackups } from './status-kops';

/** the tag restore-verify writes on a snapshot it restored; only "true" counts */
const RECENT = 5;

export interface StatusOptions {
  cluster: string;
  json: boolean;
  region?: string;
  stateMachineArn?: string;
  bucket?: string;
  config?: string;
}

interface LatestSnapshot {
  key: string;
  takenAt: Date;
  revision: number;
  size?: number;
}

/** the newest snapshot by the time in its key (not LastModified: a re-upload keeps its time) */
async function latestSnapshot(
  s3: S3Client,
  bucket: string,
  cluster: string,
): Promise<LatestSnapshot | undefined> {
  let newest: (SnapshotRef & { size?: number }) | undefined;
  let ContinuationToken: string | undefined;
  do {
    const page = await s3.send(
      new ListObjectsV2Command({ Bucket: bucket, Prefix: snapshotPrefix(cluster), ContinuationToken }),
    );
    for (const object of page.Contents ?? []) {
      const ref = object.Key ? parseSnapshotKey(object.Key) : undefined;
      if (!ref || ref.cluster !== cluster) continue;
      const newer =
        !newest ||
        ref.takenAt > newest.takenAt ||
        (+ref.takenAt === +newest.takenAt && ref.revision > newest.revision);
      if (newer) newest = { ...ref, size: object.Size };
    }
    ContinuationToken = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (ContinuationToken);
  return newest && { key: newest.key, takenAt: newest.takenAt, revision: newest.revision, size: newest.size };
}

async function isVerified(s3: S3Client, bucket: string, key: string): Promise<boolean> {
  const tags = await s3.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
  return tags.TagSet?.some((t) => t.Key === VERIFIED_TAG && t.Value === 'true') ?? false;
}

/**
 * `caretaker status <cluster>`: the last backups and the newest snapshot.
 * @throws CliError for a cluster not in the configuration or a stack that is not deployed
 */
export async function status(io: Io, deps: CliDeps, options: StatusOptions): Promise<number> {
  const backup = workflowByCommand('backup')!;
  const { file, config } = loadConfig(io, deps, options.config);
  const cluster = findCluster(config, file, options.cluster);
  if (cluster.kind === 'eks') {
    // say it plainly instead of showing an empty backup list as if backups had failed
    io.stdout.write(
      `${cluster.name} is an EKS cluster: AWS runs its etcd and control plane, so Caretaker takes no etcd backups of it and there are none to show.\n` +
        `Caretaker upgrades it (caretaker eks-upgrade ${cluster.name}) and patches its managed node groups (caretaker eks-patch-nodegroups ${cluster.name});\n` +
        `see caretaker history ${cluster.name} --workflow eks-upgrade.\n`,
    );
    return 0;
  }
  const region = options.region ?? cluster.region;
  const stack = new StackLookup(region, io, deps);
  const arn = await stack.stateMachineArn(backup, options.stateMachineArn);
  const bucket = await stack.snapshotBucket(options.bucket);
  const executions = await listClusterExecutions(deps, arn, region, backup, cluster.name, RECENT);
  const s3 = deps.s3(region);
  const latest = await latestSnapshot(s3, bucket, cluster.name);
  const verified = latest ? await isVerified(s3, bucket, latest.key) : false;
  // kops: etcd-manager's own backups and their verdicts, and the events series when it is on
  const kops = await kopsBackups(s3, bucket, cluster);
  const now = deps.now();

  if (options.json) {
    io.stdout.write(
      json({
        cluster: cluster.name,
        region,
        stateMachineArn: arn,
        bucket,
        executions: executions.map(executionRow),
        latestSnapshot: latest
          ? {
              key: latest.key,
              takenAt: isoSeconds(latest.takenAt),
              revision: latest.revision,
              size: latest.size ?? null,
              ageSeconds: Math.round((now.getTime() - latest.takenAt.getTime()) / 1000),
              verified,
            }
          : null,
        ...(kops.length > 0 ? { kops: kopsBackupsJson(kops, now) } : {}),
      }),
    );
    return 0;
  }
  io.stdout.write(`cluster   ${cluster.name} (${cluster.kind}, ${region})\n`);
  if (latest) {
    io.stdout.write(`snapshot  s3://${bucket}/${latest.key}\n`);
    io.stdout.write(
      `  taken     ${isoSeconds(latest.takenAt)} (${duration(now.getTime() - latest.takenAt.getTime())} ago), revision ${latest.revision}\n`,
    );
    io.stdout.write(`  size      ${bytes(latest.size)}\n`);
    io.stdout.write(
      `  verified  ${verified ? 'yes: a restore of it was checked' : 'no: not restored yet'}\n`,
    );
  } else {
    io.stdout.write(`snapshot  none under s3://${bucket}/${snapshotPrefix(cluster.name)}\n`);
  }
  writeKopsBackups(io, cluster, kops, now);
  io.stdout.write(`\nlast ${RECENT} backups\n`);
  io.stdout.write(executions.length > 0 ? executionTable(executions, now) : '  none yet\n');
  return 0;
}
