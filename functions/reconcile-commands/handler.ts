import * as z from '../shared/zod';
import { dynamoCommandTokenStore } from '../shared/adapters/aws/dynamo-command-token-store';
import { sfnTaskCallbacks } from '../shared/adapters/aws/sfn-task-callbacks';
import { ssmCommandRunner } from '../shared/adapters/aws/ssm-command-runner';
import { createHandler, logger, requireEnv, type DepsSource } from '../shared/handler';
import { reconcile, type CompletionDeps } from '../shared/services/complete-invocation';

/** a scheduled event; its content does not matter */
export const input = z.unknown();

export const makeHandler = (deps: DepsSource<CompletionDeps>) =>
  createHandler(
    {
      name: 'reconcile-commands',
      input,
      run: async (_event: unknown, d: CompletionDeps) => {
        const counts = await reconcile(d);
        logger.info('reconciled command tokens', counts);
        return counts;
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
