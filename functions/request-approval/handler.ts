import * as z from '../shared/zod';
import { dynamoApprovalStore } from '../shared/adapters/aws/dynamo-approval-store';
import { snsNotifier } from '../shared/adapters/aws/sns-notifier';
import { clusterName, executionId } from '../shared/domain/schemas';
import { createHandler, logger, requireEnv, type DepsSource } from '../shared/handler';
import { requestedBy } from '../shared/workflows/workflow';
import { requestApproval, type RequestApprovalDeps } from './service';

/** the gate's Payload (APPROVAL-GATE.md); the token is checked for shape only and never logged */
export const input = z.object({
  taskToken: z.string().min(1).max(8192),
  executionId,
  cluster: clusterName,
  workflow: z.string().regex(/^[a-z][a-z-]{1,40}$/, 'must be a workflow name such as upgrade-control-plane'),
  requestedBy,
  summary: z.string().min(1).max(2000),
  /** 1 minute to 7 days, as approval.timeoutMinutes allows */
  timeoutSeconds: z
    .number()
    .int()
    .min(60)
    .max(7 * 86_400),
});

export const makeHandler = (deps: DepsSource<RequestApprovalDeps>) =>
  createHandler({ name: 'request-approval', input, run: requestApproval }, deps);

export const handler = makeHandler(() => ({
  approvals: dynamoApprovalStore(requireEnv('CARETAKER_TABLE')),
  notifier: snsNotifier(requireEnv('TOPIC_ARN')),
  clock: { now: () => new Date() },
  audit: (entry: Record<string, unknown>) => logger.info('approval', entry),
}));
