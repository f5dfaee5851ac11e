import { ConditionalCheckFailedException, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient, GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { judgeAttempt, utcDay, type AttemptRecord } from '../../domain/remediation';
import type { RemediationLedger } from '../../ports';
import { rethrowTransient } from './transient';

const ledgerKey = (cluster: string, route: string, resource: string) =>
  `remediation#${cluster}#${route}#${resource}`;

/** records are kept two days past their last attempt (the day count needs one) */
const KEEP_SECONDS = 2 * 86_400;

/**
 * Cooldowns and daily attempt counts in the operations table, one item per cluster, route and
 * resource. The claim is one conditional UpdateItem: it passes when there is no item, or the
 * cooldown is over and (it is another day, or today's count is under the limit). Two alarms at
 * the same moment cannot both pass.
 */
export function dynamoRemediationLedger(
  tableName: string,
  client = DynamoDBDocumentClient.from(new DynamoDBClient({})),
): RemediationLedger {
  const read = async (cluster: string, route: string, resource: string) => {
    const out = await client
      .send(
        new GetCommand({
          TableName: tableName,
          Key: { pk: ledgerKey(cluster, route, resource) },
          ConsistentRead: true,
        }),
      )
      .catch(rethrowTransient);
    const item = out.Item;
    if (!item) return undefined;
    return {
      lastAttemptAt: String(item.lastAttemptAt),
      day: String(item.day),
      attemptsToday: Number(item.attemptsToday),
    } satisfies AttemptRecord;
  };
  return {
    read,
    async claim(r) {
      const before = await read(r.cluster, r.route, r.resource);
      const verdict = judgeAttempt(before, r.now, r);
      if (!verdict.allowed) return verdict;
      const today = utcDay(r.now);
      const cooldownEdge = new Date(r.now.getTime() - r.cooldownMinutes * 60_000).toISOString();
      try {
        await client.send(
          new UpdateCommand({
            TableName: tableName,
            Key: { pk: ledgerKey(r.cluster, r.route, r.resource) },
            // the same test judgeAttempt made, against what is stored now
            ConditionExpression:
              'attribute_not_exists(pk) OR (lastAttemptAt <= :edge AND (#day <> :today OR attemptsToday < :max))',
            UpdateExpression:
              'SET lastAttemptAt = :now, #day = :today, attemptsToday = :count, #cluster = :cluster, #route = :route, #ttl = :ttl',
            ExpressionAttributeNames: {
              '#day': 'day',
              '#route': 'route',
              '#ttl': 'ttl',
              '#cluster': 'cluster',
            },
            ExpressionAttributeValues: {
              ':edge': cooldownEdge,
              ':today': today,
              ':max': r.maxAttemptsPerDay,
              ':now': r.now.toISOString(),
              ':count': verdict.attempt,
              ':cluster': r.cluster,
              ':route': r.route,
              ':ttl': Math.floor(r.now.getTime() / 1000) + KEEP_SECONDS,
            },
          }),
        );
      } catch (err) {
        if (err instanceof ConditionalCheckFailedException) {
          // another claim passed between our read and our write: judge against what it wrote
          const after = await read(r.cluster, r.route, r.resource);
          const again = judgeAttempt(after, r.now, r);
          return again.allowed
            ? {
                allowed: false,
                rule: 'cooldown',
                message: 'cooldown: another attempt was claimed at the same moment',
              }
            : again;
        }
        return rethrowTransient(err);
      }
      return verdict;
    },
  };
}
