import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand } from '@aws-sdk/lib-dynamodb';
import type { Lease, LockStore } from '../../ports';
import { rethrowTransient } from './transient';

const lockKey = (cluster: string) => `lock#${cluster}`;

/**
 * The operation lock: a DynamoDB conditional write. A lease can be taken when there is none,
 * when it has expired (DynamoDB's TTL deletes lazily, so expiry is checked here, not trusted
 * to TTL), or when it is already ours (a retried step re-takes its own lease).
 */
export function dynamoLockStore(
  tableName: string,
  client = DynamoDBDocumentClient.from(new DynamoDBClient({})),
): LockStore {
  return {
    async acquire(lease) {
      try {
        await client.send(
          new PutCommand({
            TableName: tableName,
            Item: {
              pk: lockKey(lease.cluster),
              owner: lease.owner,
              operation: lease.operation,
              acquiredAt: lease.acquiredAt,
              expiresAt: lease.expiresAt,
              ttl: Math.ceil(Date.parse(lease.expiresAt) / 1000),
            },
            ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR #owner = :owner',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':now': lease.acquiredAt, ':owner': lease.owner },
            ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
          }),
        );
        return { acquired: true };
      } catch (e) {
        if (e instanceof ConditionalCheckFailedException) {
          const item = (e.Item ?? {}) as Record<string, { S?: string }>;
          const heldBy: Lease = {
            cluster: lease.cluster,
            owner: item.owner?.S ?? 'unknown',
            operation: item.operation?.S ?? 'unknown',
            acquiredAt: item.acquiredAt?.S ?? 'unknown',
            expiresAt: item.expiresAt?.S ?? 'unknown',
          };
          return { acquired: false, heldBy };
        }
        return rethrowTransient(e);
      }
    },

    async release(cluster, owner) {
      try {
        await client.send(
          new DeleteCommand({
            TableName: tableName,
            Key: { pk: lockKey(cluster) },
            ConditionExpression: '#owner = :owner',
            ExpressionAttributeNames: { '#owner': 'owner' },
            ExpressionAttributeValues: { ':owner': owner },
          }),
        );
        return true;
      } catch (e) {
        if (e instanceof ConditionalCheckFailedException) return false;
        return rethrowTransient(e);
      }
    },
  };
}
