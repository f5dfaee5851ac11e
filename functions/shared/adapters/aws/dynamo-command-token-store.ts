import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, paginateScan } from '@aws-sdk/lib-dynamodb';
import type { CommandTokenStore, PendingCommand } from '../../ports';
import { rethrowTransient } from './transient';

const PREFIX = 'command#';
const commandKey = (commandId: string, instanceId: string) => `${PREFIX}${commandId}#${instanceId}`;
/** keep records a day past their deadline so a late event still finds nothing to do, then TTL */
const TTL_GRACE_SECONDS = 86_400;

/** task tokens waiting on SSM invocations, keyed by command and instance */
export function dynamoCommandTokenStore(
  tableName: string,
  client = DynamoDBDocumentClient.from(new DynamoDBClient({})),
): CommandTokenStore {
  return {
    async put(p) {
      await client
        .send(
          new PutCommand({
            TableName: tableName,
            Item: {
              pk: commandKey(p.commandId, p.instanceId),
              ...p,
              ttl: Math.ceil(Date.parse(p.deadline) / 1000) + TTL_GRACE_SECONDS,
            },
          }),
        )
        .catch(rethrowTransient);
    },

    async take(commandId, instanceId) {
      // the delete is the claim: of two completers (event and reconciler) only one gets the item
      const out = await client
        .send(
          new DeleteCommand({
            TableName: tableName,
            Key: { pk: commandKey(commandId, instanceId) },
            ReturnValues: 'ALL_OLD',
          }),
        )
        .catch(rethrowTransient);
      return out.Attributes ? toPending(out.Attributes) : undefined;
    },

    async list() {
      const items: PendingCommand[] = [];
      // the table holds only leases and in-flight commands, so a filtered scan stays small
      const pages = paginateScan(
        { client },
        {
          TableName: tableName,
          FilterExpression: 'begins_with(pk, :prefix)',
          ExpressionAttributeValues: { ':prefix': PREFIX },
        },
      );
      try {
        for await (const page of pages) items.push(...(page.Items ?? []).map(toPending));
      } catch (e) {
        rethrowTransient(e);
      }
      return items;
    },
  };
}

function toPending(item: Record<string, unknown>): PendingCommand {
  return {
    commandId: String(item.commandId),
    instanceId: String(item.instanceId),
    taskToken: String(item.taskToken),
    cluster: String(item.cluster),
    command: String(item.command),
    sentAt: String(item.sentAt),
    deadline: String(item.deadline),
  };
}
