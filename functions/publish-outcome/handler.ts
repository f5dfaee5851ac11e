import * as z from '../shared/zod';
import { emfMetricSink } from '../shared/adapters/aws/emf-metric-sink';
import { snsNotifier } from '../shared/adapters/aws/sns-notifier';
import { clusterName, executionId, isoTime, sha256 } from '../shared/domain/schemas';
import { secretsManagerSlackSecrets } from '../shared/adapters/aws/secrets-manager-slack-secrets';
import { slackWebApi } from '../shared/adapters/slack/web-api';
import { createHandler, logger, requireEnv, type DepsSource } from '../shared/handler';
import { campaignStep } from '../shared/services/eks-cluster';
import { channelsFromMap } from '../shared/services/slack-chat';
import { publishOutcome, type PublishDeps } from './service';

export const input = z.object({
  cluster: clusterName,
  workflow: z.string().regex(/^[a-z][a-z-]{1,40}$/),
  outcome: z.enum(['Succeeded', 'Failed', 'Skipped', 'Paused', 'Escalated']),
  executionId,
  startedAt: isoTime,
  snapshot: z
    .object({
      key: z.string(),
      size: z.number(),
      sha256,
      revision: z.number(),
      totalKeys: z.number().optional(),
      /** kops: the events etcd's snapshot of the same run, as verify-upload checked it */
      events: z.object({ key: z.string(), size: z.number(), sha256, revision: z.number() }).optional(),
    })
    .optional(),
  pruned: z
    .object({
      deleted: z.array(z.string()),
      skippedLocked: z.array(z.string()),
      kept: z.number(),
      note: z.string().optional(),
      /** kops: the events etcd's own series, pruned by the same retention */
      events: z
        .object({
          deleted: z.array(z.string()),
          skippedLocked: z.array(z.string()),
          kept: z.number(),
          note: z.string().optional(),
        })
        .optional(),
    })
    .optional(),
  heldBy: z
    .object({
      owner: z.string(),
      operation: z.string(),
      acquiredAt: z.string(),
      expiresAt: z.string(),
      scope: z.string().optional(),
    })
    .optional(),
  error: z.object({ Error: z.string(), Cause: z.string().optional() }).optional(),
  verification: z
    .object({
      key: z.string(),
      verified: z.boolean(),
      failedCheck: z.string().optional(),
      reason: z.string().optional(),
      restoreSeconds: z.number().nullable().optional(),
    })
    .optional(),
  note: z.string().max(1000).optional(),
  /** an EKS campaign's preflight report or patch plan, as a person reads it */
  summary: z.string().max(20_000).optional(),
  /** an EKS campaign's updates, in order, each with its EKS update id */
  steps: z.array(campaignStep).max(200).optional(),
  /** remediate: the alarm, the rule that stopped it, what a dry run would do */
  remediation: z
    .object({
      route: z.string(),
      alarmName: z.string(),
      alarmTime: z.string(),
      dryRun: z.boolean().optional(),
      wouldDo: z.array(z.string()).optional(),
      rule: z.string().optional(),
      message: z.string().optional(),
    })
    .optional(),
  /** patch-workers: the plan (dry run) or the run's report, as plan-patch / finish-patch return them */
  patching: z.record(z.string(), z.unknown()).optional(),
});

export const makeHandler = (deps: DepsSource<PublishDeps>) =>
  createHandler({ name: 'publish-outcome', input, run: publishOutcome }, deps);

export const handler = makeHandler(() => {
  // ChatOps is optional: the stack sets these only when caretaker.config.json has a slack block
  const secretArn = process.env.SLACK_SECRET_ARN;
  const secrets = secretArn ? secretsManagerSlackSecrets(secretArn) : undefined;
  return {
    notifier: snsNotifier(requireEnv('TOPIC_ARN')),
    metrics: emfMetricSink(),
    clock: { now: () => new Date() },
    ...(secrets && {
      chat: {
        slack: slackWebApi({
          token: async () => (await secrets.get()).botToken,
          apiUrl: process.env.SLACK_API_URL || undefined,
        }),
        channelOf: channelsFromMap(
          JSON.parse(process.env.SLACK_CHANNELS_BY_CLUSTER || '{}') as Record<string, string>,
        ),
      },
    }),
    ...(process.env.CHATBOT_TOPIC_ARN && { chatbot: snsNotifier(process.env.CHATBOT_TOPIC_ARN) }),
    ...(process.env.RUNBOOK_BASE_URL && { runbookBaseUrl: process.env.RUNBOOK_BASE_URL }),
    audit: (entry: Record<string, unknown>) => logger.warn('chat notification failed', entry),
  };
});
