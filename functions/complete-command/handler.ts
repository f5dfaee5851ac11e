import * as z from '../shared/zod';
import { dynamoCommandTokenStore } from '../shared/adapters/aws/dynamo-command-token-store';
import { sfnTaskCallbacks } from '../shared/adapters/aws/sfn-task-callbacks';
import { ssmCommandRunner } from '../shared/adapters/aws/ssm-command-runner';
import { instanceId } from '../shared/domain/schemas';
import { createHandler, logger, requireEnv, type DepsSource } from '../shared/handler';
import { completeInvocation, type CompletionDeps } from '../shared/services/complete-invocation';

/** "EC2 Command Invocation Status-change Notification" (events/aws.ssm/*.json) */
export const input = z.object({
  source: z.literal('aws.ssm'),
  'detail-type': z.literal('EC2 Command Invocation Status-change Notification'),
  detail: z.object({
    'command-id': z.string().uuid(),
    'instance-id': instanceId,
    status: z.string(),
    'document-name': z.string().optional(),
  }),
});

export const makeHandler = (deps: DepsSource<CompletionDeps>) =>
  createHandler(
    {
      name: 'complete-command',
      input,
      run: async (event: z.output<typeof input>, d: CompletionDeps) => {
        // the event's status is a hint; the invocation itself is read again (events are best effort)
        const outcome = await completeInvocation(event.detail['command-id'], event.detail['instance-id'], d);
        logger.info('command invocation', { outcome, ...event.detail });
        return { completed: outcome !== 'still-running' && outcome !== 'not-ours', outcome };
      },
    },
    deps,
  );

export const handler = makeHandler(() => ({
  runner: ssmCommandRunner(),
  tokens: dynamoCommandTokenStore(requireEnv('CARETAKER_TABLE')),
  callbacks: sfnTaskCallbacks(),
  clock: { now: () => new Date() },
}));
