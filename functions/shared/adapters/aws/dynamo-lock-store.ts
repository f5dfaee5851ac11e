import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { LOCK_SCOPES, orderedScopes, type LockScope } from '../../domain/locks';
import type { Lease, LockStore } from '../../ports';
import { rethrowTransient } from './transient';

const lockKey = (cluster: string, scope: LockScope) => `lock#${cluster}#${scope}`;

/** the raw item a failed conditional write returns; every lease field is a string */
const fromRaw = (item: Record<string, { S?: string }>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(item).map(([k, v]) => [k, v.S]));

function toLease(cluster: string, scope: LockScope, item: Record<string, unknown> | undefined): Lease {
  return {
    cluster,
    scope,
    owner: String(item?.owner ?? 'unknown'),
    operation: String(item?.operation ?? 'unknown'),
    acquiredAt: String(item?.acquiredAt ?? 'unknown'),
    expiresAt: String(item?.expiresAt ?? 'unknown'),
  };
}

/**
 * The operation locks: one DynamoDB item per cluster and scope, taken with conditional writes.
 * A lease can be taken when there is none, when it has expired (DynamoDB's TTL deletes lazily,
 * so expiry is checked here, not trusted to TTL), or when it is already ours (a retried step
 * re-takes its own lease). Several scopes are taken one by one in a fixed order, and the ones
 * this call took are given back when a later one is held.
 */
export function dynamoLockStore(
  tableName: string,
  client = DynamoDBDocumentClient.from(new DynamoDBClient({})),
): LockStore {
  const readHolder = async (cluster: string, scope: LockScope) => {
    const out = await client
      .send(
        new GetCommand({ TableName: tableName, Key: { pk: lockKey(cluster, scope) }, ConsistentRead: true }),
      )
      .catch(rethrowTransient);
    return out.Item as Record<string, unknown> | undefined;
  };

  /** @returns undefined when taken (with the item it replaced), else the holder */
  const takeOne = async (lease: Lease, scope: LockScope) => {
    try {
      const out = await client.send(
        new PutCommand({
          TableName: tableName,
          Item: {
            pk: lockKey(lease.cluster, scope),
            owner: lease.owner,
            operation: lease.operation,
            acquiredAt: lease.acquiredAt,
            expiresAt: lease.expiresAt,
            ttl: Math.ceil(Date.parse(lease.expiresAt) / 1000),
          },
          ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR #owner = :owner',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':now': lease.acquiredAt, ':owner': lease.owner },
          ReturnValues: 'ALL_OLD',
          ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
        }),
      );
      return { taken: true as const, wasOurs: out.Attributes?.owner === lease.owner };
    } catch (e) {
      if (e instanceof ConditionalCheckFailedException) {
        // the failed write returns the holder; where it does not (older APIs), read it
        const item = e.Item ? fromRaw(e.Item as never) : await readHolder(lease.cluster, scope);
        return { taken: false as const, heldBy: toLease(lease.cluster, scope, item) };
      }
      return rethrowTransient(e);
    }
  };

  /** deletes the scope's item only while it is still this exact lease */
  const giveBack = async (lease: Lease, scope: LockScope) => {
    try {
      await client.send(
        new DeleteCommand({
          TableName: tableName,
          Key: { pk: lockKey(lease.cluster, scope) },
          ConditionExpression: '#owner = :owner AND acquiredAt = :at',
          ExpressionAttributeNames: { '#owner': 'owner' },
          ExpressionAttributeValues: { ':owner': lease.owner, ':at': lease.acquiredAt },
        }),
      );
    } catch (e) {
      if (!(e instanceof ConditionalCheckFailedException)) rethrowTransient(e);
    }
  };

  return {
    async acquire(request) {
      const taken: LockScope[] = [];
      for (const scope of orderedScopes(request.scopes)) {
        const result = await takeOne(request, scope);
        if (!result.taken) {
          // all or nothing: give back what this call took, but never a lease we held before it
          for (const s of taken) await giveBack(request, s);
          return { acquired: false, heldBy: result.heldBy };
        }
        if (!result.wasOurs) taken.push(scope);
      }
      return { acquired: true };
    },

    async renew(request) {
      for (const scope of orderedScopes(request.scopes)) {
        try {
          await client.send(
            new UpdateCommand({
              TableName: tableName,
              Key: { pk: lockKey(request.cluster, scope) },
              UpdateExpression: 'SET expiresAt = :expires, #ttl = :ttl',
              // ours and not lapsed: a lapsed lease may have been taken and given back meanwhile
              ConditionExpression: '#owner = :owner AND expiresAt >= :now',
              ExpressionAttributeNames: { '#owner': 'owner', '#ttl': 'ttl' },
              ExpressionAttributeValues: {
                ':owner': request.owner,
                ':now': request.acquiredAt,
                ':expires': request.expiresAt,
                ':ttl': Math.ceil(Date.parse(request.expiresAt) / 1000),
              },
              ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
            }),
          );
        } catch (e) {
          if (e instanceof ConditionalCheckFailedException) {
            const item = e.Item ? fromRaw(e.Item as never) : await readHolder(request.cluster, scope);
            return item
              ? { renewed: false, scope, heldBy: toLease(request.cluster, scope, item) }
              : { renewed: false, scope };
          }
          return rethrowTransient(e);
        }
      }
      return { renewed: true };
    },

    async holders(cluster, scopes) {
      const out: (Lease | undefined)[] = [];
      for (const scope of scopes) {
        const item = await readHolder(cluster, scope);
        out.push(item ? toLease(cluster, scope, item) : undefined);
      }
      return out;
    },

    async release(cluster, owner) {
      let released = false;
      for (const scope of LOCK_SCOPES) {
        try {
          await client.send(
            new DeleteCommand({
              TableName: tableName,
              Key: { pk: lockKey(cluster, scope) },
              ConditionExpression: '#owner = :owner',
              ExpressionAttributeNames: { '#owner': 'owner' },
              ExpressionAttributeValues: { ':owner': owner },
            }),
          );
          released = true;
        } catch (e) {
          if (!(e instanceof ConditionalCheckFailedException)) rethrowTransient(e);
        }
      }
      return released;
    },
  };
}
