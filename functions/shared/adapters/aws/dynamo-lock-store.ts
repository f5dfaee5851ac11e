import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb';
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
  const readHolder = async (cluster: string) => {
    const out = await client
      .send(new GetCommand({ TableName: tableName, Key: { pk: lockKey(cluster) }, ConsistentRead: true }))
      .catch(rethrowTransient);
    return out.Item as Record<string, unknown> | undefined;
  };

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
          // the failed write returns the holder; where it does not (older APIs), read it
          const item = e.Item
            ? Object.fromEntries(
                Object.entries(e.Item as Record<string, { S?: string }>).map(([k, v]) => [k, v.S]),
              )
            : await readHolder(lease.cluster);
          const heldBy: Lease = {
            cluster: lease.cluster,
            owner: String(item?.owner ?? 'unknown'),
            operation: String(item?.operation ?? 'unknown'),
            acquiredAt: String(item?.acquiredAt ?? 'unknown'),
            expiresAt: String(item?.expiresAt ?? 'unknown'),
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
