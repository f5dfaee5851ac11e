import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import type { ApprovalRecord } from '../../domain/approvals';
import type { ApprovalStore } from '../../ports';
import { rethrowTransient } from './transient';

const approvalKey = (id: string) => `approval#${id}`;
const executionKey = (executionId: string) => `approval-execution#${executionId}`;
/** a decided or expired record stays a week past its expiry (who decided, for late presses), then TTL */
const TTL_GRACE_SECONDS = 7 * 86_400;

const ttlOf = (record: ApprovalRecord) => Math.ceil(Date.parse(record.expiresAt) / 1000) + TTL_GRACE_SECONDS;

/**
 * Approval gates in the operations table: `approval#<id>` holds the record (and the task token),
 * `approval-execution#<executionId>` points at the execution's latest approval, so the CLI can
 * decide by execution. Both expire through `ttl`.
 */
export function dynamoApprovalStore(
  tableName: string,
  client = DynamoDBDocumentClient.from(new DynamoDBClient({})),
): ApprovalStore {
  const get = async (approvalId: string) => {
    const out = await client
      .send(
        new GetCommand({ TableName: tableName, Key: { pk: approvalKey(approvalId) }, ConsistentRead: true }),
      )
      .catch(rethrowTransient);
    return out.Item ? toRecord(out.Item) : undefined;
  };
  return {
    async put(record) {
      // the pointer first: a record without it could not be found by execution
      await client
        .send(
          new PutCommand({
            TableName: tableName,
            Item: { pk: executionKey(record.executionId), approvalId: record.approvalId, ttl: ttlOf(record) },
          }),
        )
        .catch(rethrowTransient);
      await client
        .send(
          new PutCommand({
            TableName: tableName,
            Item: { pk: approvalKey(record.approvalId), ...withoutUndefined(record), ttl: ttlOf(record) },
            // ids are random; never overwrite one
            ConditionExpression: 'attribute_not_exists(pk)',
          }),
        )
        .catch(rethrowTransient);
    },

    get,

    async findByExecution(executionId) {
      const out = await client
        .send(
          new GetCommand({
            TableName: tableName,
            Key: { pk: executionKey(executionId) },
            ConsistentRead: true,
          }),
        )
        .catch(rethrowTransient);
      const id = out.Item?.approvalId;
      return typeof id === 'string' ? get(id) : undefined;
    },

    async decide(approvalId, decision, now) {
      try {
        const out = await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: approvalKey(approvalId) },
            UpdateExpression:
              'SET #status = :status, decidedBy = :by, decidedAt = :at' +
              (decision.reason ? ', reason = :reason' : ''),
            ConditionExpression: 'attribute_exists(pk) AND #status = :pending AND expiresAt > :now',
            ExpressionAttributeNames: { '#status': 'status' },
            ExpressionAttributeValues: {
              ':status': decision.status,
              ':by': decision.decidedBy,
              ':at': decision.decidedAt,
              ':pending': 'pending',
              ':now': now.toISOString(),
              ...(decision.reason && { ':reason': decision.reason }),
            },
            ReturnValues: 'ALL_NEW',
          }),
        );
        return { decided: true, record: toRecord(out.Attributes!) };
      } catch (e) {
        if (e instanceof ConditionalCheckFailedException) {
          return { decided: false, record: await get(approvalId) };
        }
        return rethrowTransient(e);
      }
    },

    async setMessage(approvalId, message) {
      await client
        .send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: approvalKey(approvalId) },
            UpdateExpression: 'SET message = :message',
            ConditionExpression: 'attribute_exists(pk)',
            ExpressionAttributeValues: { ':message': message },
          }),
        )
        .catch(rethrowTransient);
    },
  };
}

function toRecord(item: Record<string, unknown>): ApprovalRecord {
  const record: ApprovalRecord = {
    approvalId: String(item.approvalId),
    taskToken: String(item.taskToken),
    executionId: String(item.executionId),
    cluster: String(item.cluster),
    workflow: String(item.workflow),
    requestedBy: String(item.requestedBy),
    summary: String(item.summary),
    requestedAt: String(item.requestedAt),
    expiresAt: String(item.expiresAt),
    status: item.status as ApprovalRecord['status'],
  };
  if (typeof item.decidedBy === 'string') record.decidedBy = item.decidedBy;
  if (typeof item.decidedAt === 'string') record.decidedAt = item.decidedAt;
  if (typeof item.reason === 'string') record.reason = item.reason;
  const message = item.message as { channel?: unknown; ts?: unknown } | undefined;
  if (typeof message?.channel === 'string' && typeof message.ts === 'string') {
    record.message = { channel: message.channel, ts: message.ts };
  }
  return record;
}

function withoutUndefined<T extends object>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
