import middy from '@middy/core';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import * as z from '../shared/zod';
import { dynamoApprovalStore } from '../shared/adapters/aws/dynamo-approval-store';
import { dynamoRequestLedger } from '../shared/adapters/aws/dynamo-request-ledger';
import { secretsManagerSlackSecrets } from '../shared/adapters/aws/secrets-manager-slack-secrets';
import { sfnExecutionHistory } from '../shared/adapters/aws/sfn-execution-history';
import { sfnTaskCallbacks } from '../shared/adapters/aws/sfn-task-callbacks';
import { sfnWorkflowStarter } from '../shared/adapters/aws/sfn-workflow-starter';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { slackFormApi } from '../shared/adapters/slack/form-api';
import { logger, requireEnv, type DepsSource } from '../shared/handler';
import { channelsFrom, slackApprovalMessenger } from '../shared/services/slack-chat';
import { handleSlackRequest, type HttpResponse, type SlackReceiverDeps } from './service';

/** the Lambda function URL event (payload 2.0), as far as the receiver reads it */
export const input = z.object({
  headers: z.record(z.string(), z.string()),
  body: z.string().optional(),
  isBase64Encoded: z.boolean(),
});

/**
 * The Slack endpoint (a Lambda function URL): middy → the event's shape (zod) → the service.
 * A malformed event or any failure answers without the body or the error's details; the
 * signature check inside the service comes before anything reads the request.
 */
export const makeHandler = (source: DepsSource<SlackReceiverDeps>) => {
  let deps: SlackReceiverDeps | undefined;
  const resolve = () => (deps ??= typeof source === 'function' ? source() : source);
  return middy<unknown, HttpResponse, Error, Context>(async (event: unknown) => {
    const parsed = input.safeParse(event);
    if (!parsed.success) {
      resolve().log('warn', 'slack request rejected', { reason: 'not a function URL request' });
      return { statusCode: 401, body: 'unauthorized' };
    }
    try {
      return await handleSlackRequest(parsed.data, resolve());
    } catch (e) {
      // Slack shows a generic error; the log has the name, never the request
      resolve().log('warn', 'slack request failed', {
        error: (e as Error).name,
        message: (e as Error).message,
      });
      return {
        statusCode: 200,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          response_type: 'ephemeral',
          text: 'Caretaker could not do that just now; nothing was started. Try again, or use the caretaker CLI.',
        }),
      };
    }
  }).use(injectLambdaContext(logger, { resetKeys: true }));
};

export const handler = makeHandler(() => {
  const secrets = secretsManagerSlackSecrets(requireEnv('SLACK_SECRET_ARN'));
  // not the official client: see form-api.ts (the receiver's bundle and cold start)
  const slack = slackFormApi({
    token: async () => (await secrets.get()).botToken,
    apiUrl: process.env.SLACK_API_URL || undefined,
  });
  const clusters = ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX'));
  const table = requireEnv('CARETAKER_TABLE');
  return {
    secrets,
    clock: { now: () => new Date() },
    deployment: {
      teamId: requireEnv('SLACK_TEAM_ID'),
      channels: JSON.parse(process.env.SLACK_CHANNELS || '[]') as string[],
    },
    clusters,
    clusterNames: JSON.parse(requireEnv('CLUSTERS')) as string[],
    slack,
    starter: sfnWorkflowStarter(),
    stateMachines: JSON.parse(requireEnv('STATE_MACHINES')) as Record<string, string>,
    ledger: dynamoRequestLedger(table),
    history: sfnExecutionHistory(),
    approvals: dynamoApprovalStore(table),
    callbacks: sfnTaskCallbacks(),
    messenger: slackApprovalMessenger(slack, channelsFrom(clusters)),
    log: (level, message, fields) => logger[level](message, fields),
  };
});
