import * as z from '../shared/zod';
import { s3SnapshotStore } from '../shared/adapters/aws/s3-snapshot-store';
import { clusterName, snapshotResult } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { verifyUpload, type VerifyUploadDeps } from './service';

export const input = z.object({ cluster: clusterName, snapshot: snapshotResult });

export const makeHandler = (deps: DepsSource<VerifyUploadDeps>) =>
  createHandler({ name: 'verify-upload', input, run: verifyUpload }, deps);

export const handler = makeHandler(() => {
  const bucket = requireEnv('SNAPSHOT_BUCKET');
  return { store: s3SnapshotStore(bucket), bucket };
});
