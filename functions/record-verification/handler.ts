import * as z from '../shared/zod';
import { emfMetricSink } from '../shared/adapters/aws/emf-metric-sink';
import { s3SnapshotStore } from '../shared/adapters/aws/s3-snapshot-store';
import { clusterName, executionId, verificationResult } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { recordVerification, type RecordVerificationDeps } from './service';

export const input = z.object({
  cluster: clusterName,
  executionId,
  key: z.string().min(1).max(1024),
  verification: verificationResult,
});

export const makeHandler = (deps: DepsSource<RecordVerificationDeps>) =>
  createHandler({ name: 'record-verification', input, run: recordVerification }, deps);

export const handler = makeHandler(() => ({
  store: s3SnapshotStore(requireEnv('SNAPSHOT_BUCKET')),
  metrics: emfMetricSink(),
  clock: { now: () => new Date() },
}));
