import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
  paginateScan,
} from '@aws-sdk/lib-dynamodb';
import type { CommandIntent, CommandTokenStore, IntentClaim, PendingCommand } from '../../ports';
import { rethrowTransient } from './transient';

const PREFIX = 'command#';
const commandKey = (commandId: string, instanceId: string) => `${PREFIX}${commandId}#${instanceId}`;
/** keep records a day past their deadline so a late event still finds nothing to do, then TTL */
const TTL_GRACE_SECONDS = 86_400;
const intentKey = (id: string) => `intent#${id}`;
/** an intent outlives any execution that could retry its state (Standard workflows here end within hours) */
const INTENT_TTL_SECONDS = 7 * 86_400;

/** task tokens waiting on SSM invocations, keyed by command and instance */
export function dynamoCommandTokenStore(
  tableName: string,
  client = DynamoDBDocumentClient.from(new DynamoDBClient({})),
): CommandTokenStore {
  return {
    async claim(intent, staleBefore): Promise<IntentClaim> {
      try {
        // free, or claimed long ago by an attempt that never recorded a send: ours now
        const out = await client.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              pk: intentKey(intent.id),
              ...withoutUndefined(intent),
              ttl: Math.ceil(Date.parse(intent.claimedAt) / 1000) + INTENT_TTL_SECONDS,
            },
            ConditionExpression:
              'attribute_not_exists(pk) OR (attribute_not_exists(commandId) AND claimedAt < :stale)',
            ExpressionAttributeValues: { ':stale': staleBefore },
            ReturnValues: 'ALL_OLD',
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return out.Attributes
          ? { outcome: 'taken-over', previous: toIntent(out.Attributes) }
          : { outcome: 'new' };
      } catch (e) {
        if (e instanceof ConditionalCheckFailedException) {
          // the failed write returns the raw item (every intent field is a string); where it
          // does not (older APIs, dynalite), read it
          const item = e.Item
            ? Object.fromEntries(
                Object.entries(e.Item as Record<string, { S?: string }>).map(([k, v]) => [k, v.S]),
              )
            : (
                await client
                  .send(
                    new GetCommand({
                      TableName: tableName,
                      Key: { pk: intentKey(intent.id) },
                      ConsistentRead: true,
                    }),
                  )
                  .catch(rethrowTransient)
              ).Item;
          const previous = item ? toIntent(item) : undefined;
          if (previous?.commandId) return { outcome: 'sent', commandId: previous.commandId };
          return { outcome: 'in-flight', previous: previous ?? intent };
        }
        return rethrowTransient(e);
      }
    },

    async recordSent(intentId, commandId) {
      await client
        .send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: intentKey(intentId) },
            UpdateExpression: 'SET commandId = :commandId',
            ExpressionAttributeValues: { ':commandId': commandId },
          }),
        )
        .catch(rethrowTransient);
    },

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

function toIntent(item: Record<string, unknown>): CommandIntent {
  const intent: CommandIntent = {
    id: String(item.id),
    executionId: String(item.executionId),
    state: String(item.state),
    subject: String(item.subject),
    command: String(item.command),
    instanceId: String(item.instanceId),
    cluster: String(item.cluster),
    claimedAt: String(item.claimedAt),
  };
  if (typeof item.commandId === 'string') intent.commandId = item.commandId;
  return intent;
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
