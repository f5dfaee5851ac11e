import {
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import type { TaskCallbacks } from '../../ports';
import { rethrowTransient } from './transient';

/** Step Functions limits: error 256 chars, cause 32,768 */
const ERROR_MAX = 256;
const CAUSE_MAX = 32_768;

/** a token whose task already ended (timed out, execution stopped) is not an error to us */
function ignoreGone(e: unknown): void {
  if (e instanceof TaskTimedOut || e instanceof TaskDoesNotExist) return;
  rethrowTransient(e);
}

export function sfnTaskCallbacks(client = new SFNClient({})): TaskCallbacks {
  return {
    async succeed(taskToken, output) {
      await client
        .send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }))
        .catch(ignoreGone);
    },
    async fail(taskToken, error, cause) {
      await client
        .send(
          new SendTaskFailureCommand({
            taskToken,
            error: error.slice(0, ERROR_MAX),
            cause: cause.slice(-CAUSE_MAX),
          }),
        )
        .catch(ignoreGone);
    },
  };
}
