import * as z from '../shared/zod';
import { dynamoApprovalStore } from '../shared/adapters/aws/dynamo-approval-store';
import { secretsManagerSlackSecrets } from '../shared/adapters/aws/secrets-manager-slack-secrets';
import { snsNotifier } from '../shared/adapters/aws/sns-notifier';
import { slackWebApi } from '../shared/adapters/slack/web-api';
import { channelsFromMap, slackApprovalMessenger } from '../shared/services/slack-chat';
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

export const handler = makeHandler(() => {
  // Slack is optional: the stack sets SLACK_SECRET_ARN only when the config has a slack block
  const secretArn = process.env.SLACK_SECRET_ARN;
  const secrets = secretArn ? secretsManagerSlackSecrets(secretArn) : undefined;
  return {
    approvals: dynamoApprovalStore(requireEnv('CARETAKER_TABLE')),
    notifier: snsNotifier(requireEnv('TOPIC_ARN')),
    clock: { now: () => new Date() },
    ...(secrets && {
      messenger: slackApprovalMessenger(
        slackWebApi({
          token: async () => (await secrets.get()).botToken,
          apiUrl: process.env.SLACK_API_URL || undefined,
        }),
        channelsFromMap(JSON.parse(process.env.SLACK_CHANNELS_BY_CLUSTER || '{}') as Record<string, string>),
      ),
    }),
    audit: (entry: Record<string, unknown>) => logger.info('approval', entry),
  };
});
