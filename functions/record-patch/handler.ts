import * as z from '../shared/zod';
import { ec2InstanceTagger } from '../shared/adapters/aws/ec2-instance-tagger';
import { emfMetricSink } from '../shared/adapters/aws/emf-metric-sink';
import { s3SnapshotStore } from '../shared/adapters/aws/s3-snapshot-store';
import { osPatchResult } from '../shared/domain/commands/os-patch';
import { executionName } from '../shared/domain/patching/keys';
import { clusterName, instanceId, isoTime } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { recordPatch, type RecordPatchDeps } from './service';

const nodeName = z.string().regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be a Node name');

export const input = z.object({
  cluster: clusterName,
  executionName,
  node: nodeName,
  instanceId,
  outcome: z.enum(['patched', 'failed', 'not-started']),
  startedAt: isoTime.optional(),
  patch: osPatchResult.optional(),
  step: z.string().max(120).optional(),
  error: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
  reason: z.string().max(2000).optional(),
  leftCordoned: z.boolean().optional(),
});

export const makeHandler = (deps: DepsSource<RecordPatchDeps>) =>
  createHandler({ name: 'record-patch', input, run: recordPatch }, deps);

export const handler = makeHandler(() => ({
  tagger: ec2InstanceTagger(),
  store: s3SnapshotStore(requireEnv('SNAPSHOT_BUCKET')),
  metrics: emfMetricSink(),
  clock: { now: () => new Date() },
}));
