import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { RequestLedger } from '../../ports';
import { rethrowTransient } from './transient';

/** `request#<key>` in the operations table: the first value wins, TTL removes it */
export function dynamoRequestLedger(
  tableName: string,
  client = DynamoDBDocumentClient.from(new DynamoDBClient({})),
): RequestLedger {
  return {
    async remember(key, value, expiresAt) {
      const pk = `request#${key}`;
      try {
        await client.send(
          new PutCommand({
            TableName: tableName,
            Item: { pk, value, ttl: Math.ceil(expiresAt.getTime() / 1000) },
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        );
        return value;
      } catch (e) {
        if (!(e instanceof ConditionalCheckFailedException)) return rethrowTransient(e);
        const out = await client
          .send(new GetCommand({ TableName: tableName, Key: { pk }, ConsistentRead: true }))
          .catch(rethrowTransient);
        return typeof out.Item?.value === 'string' ? out.Item.value : value;
      }
    },
  };
}
