import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import type { ExecutionHistory } from '../../ports';
import { rethrowTransient } from './transient';

/** at most this many pages (100 each) per answer: Slack wants its answer within 3 s */
const MAX_PAGES = 2;

export function sfnExecutionHistory(client = new SFNClient({})): ExecutionHistory {
  return {
    async recent(stateMachineArn, namePrefix, limit) {
      const found = [];
      let nextToken: string | undefined;
      for (let page = 0; page < MAX_PAGES && found.length < limit; page++) {
        const out = await client
          .send(new ListExecutionsCommand({ stateMachineArn, maxResults: 100, nextToken }))
          .catch(rethrowTransient);
        for (const e of out.executions ?? []) {
          if (!e.name?.startsWith(namePrefix) || !e.executionArn || !e.startDate) continue;
          found.push({
            name: e.name,
            executionArn: e.executionArn,
            status: String(e.status),
            startDate: e.startDate,
            ...(e.stopDate && { stopDate: e.stopDate }),
          });
        }
        nextToken = out.nextToken;
        if (!nextToken) break;
      }
      return found.slice(0, limit);
    },
  };
}
