import {
  ConditionalCheckFailedException,
  DynamoDBClient,
  DynamoDBServiceException,
  InternalServerError,
} from '@aws-sdk/client-dynamodb';
import {
  DeleteCommand,
  DynamoDBDocumentClient,
  PutCommand,
  GetCommand,
  UpdateCommand,
} from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
// types for the matchers; jest's setupFilesAfterEnv registers them at run time
import 'aws-sdk-client-mock-jest';
import { dynamoLockStore } from '../../../functions/shared/adapters/aws/dynamo-lock-store';
import { TransientError } from '../../../functions/shared/errors';
import type { LeaseRequest } from '../../../functions/shared/ports';

const TABLE = 'caretaker-state';
const ddb = mockClient(DynamoDBDocumentClient);

const lease: LeaseRequest = {
  cluster: 'prod',
  owner: 'exec-123',
  operation: 'etcd-backup',
  acquiredAt: '2025-01-01T00:00:00.000Z',
  expiresAt: '2025-01-01T00:15:00.000Z',
  scopes: ['control-plane'],
};

function makeStore() {
  return dynamoLockStore(TABLE, DynamoDBDocumentClient.from(new DynamoDBClient({})));
}

function throttled(): DynamoDBServiceException {
  return new DynamoDBServiceException({
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'rate exceeded',
  });
}

function accessDenied(): DynamoDBServiceException {
  return new DynamoDBServiceException({
    name: 'AccessDeniedException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'not authorized to perform dynamodb:PutItem',
  });
}

beforeEach(() => {
  ddb.reset();
});

describe('acquire', () => {
  it('writes the lease under lock#<cluster>#<scope> with an epoch-seconds ttl, conditioned on free, expired or own', async () => {
    // Arrange
    ddb.on(PutCommand).resolves({});
    const store = makeStore();

    // Act
    const result = await store.acquire(lease);

    // Assert
    const expected = {
      TableName: TABLE,
      Item: {
        pk: 'lock#prod#control-plane',
        owner: 'exec-123',
        operation: 'etcd-backup',
        acquiredAt: '2025-01-01T00:00:00.000Z',
        expiresAt: '2025-01-01T00:15:00.000Z',
        ttl: 1_735_690_500,
      },
      ConditionExpression: 'attribute_not_exists(pk) OR expiresAt < :now OR #owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':now': '2025-01-01T00:00:00.000Z', ':owner': 'exec-123' },
      ReturnValues: 'ALL_OLD',
      ReturnValuesOnConditionCheckFailure: 'ALL_OLD',
    };
    expect(result).toEqual({ acquired: true });
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(PutCommand, expected);
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual(expected);
  });

  it('rounds a fractional expiry up to the next whole second for the ttl', async () => {
    // Arrange
    ddb.on(PutCommand).resolves({});
    const store = makeStore();

    // Act
    await store.acquire({ ...lease, expiresAt: '2025-01-01T00:15:00.001Z' });

    // Assert
    expect(ddb).toHaveReceivedCommandWith(PutCommand, {
      Item: expect.objectContaining({ ttl: 1_735_690_501 }),
    });
  });

  it('returns acquired false with the holder read from the old item when another owner holds the lease', async () => {
    // Arrange
    ddb.on(PutCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: { httpStatusCode: 400 },
        Item: {
          pk: { S: 'lock#prod#control-plane' },
          owner: { S: 'exec-other' },
          operation: { S: 'etcd-restore' },
          acquiredAt: { S: '2024-12-31T23:55:00.000Z' },
          expiresAt: { S: '2025-01-01T00:10:00.000Z' },
          ttl: { N: '1735690200' },
        },
      }),
    );
    const store = makeStore();

    // Act
    const result = await store.acquire(lease);

    // Assert
    expect(result).toEqual({
      acquired: false,
      heldBy: {
        cluster: 'prod',
        scope: 'control-plane',
        owner: 'exec-other',
        operation: 'etcd-restore',
        acquiredAt: '2024-12-31T23:55:00.000Z',
        expiresAt: '2025-01-01T00:10:00.000Z',
      },
    });
  });

  it('reads the holder with a consistent GetItem when the failed condition carries no item', async () => {
    // Arrange
    ddb
      .on(PutCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );
    ddb.on(GetCommand).resolves({
      Item: {
        pk: 'lock#prod#control-plane',
        owner: 'exec-0',
        operation: 'patch-workers',
        acquiredAt: 'a',
        expiresAt: 'b',
      },
    });
    const store = makeStore();

    // Act
    const result = await store.acquire(lease);

    // Assert
    expect(ddb).toHaveReceivedCommandWith(GetCommand, {
      TableName: TABLE,
      Key: { pk: 'lock#prod#control-plane' },
      ConsistentRead: true,
    });
    expect(result).toEqual({
      acquired: false,
      heldBy: {
        cluster: 'prod',
        scope: 'control-plane',
        owner: 'exec-0',
        operation: 'patch-workers',
        acquiredAt: 'a',
        expiresAt: 'b',
      },
    });
  });

  it('names the holder unknown when it vanished between the failed write and the read', async () => {
    // Arrange
    ddb
      .on(PutCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );
    ddb.on(GetCommand).resolves({});
    const store = makeStore();

    // Act
    const result = await store.acquire(lease);

    // Assert
    expect(result).toEqual({
      acquired: false,
      heldBy: {
        cluster: 'prod',
        scope: 'control-plane',
        owner: 'unknown',
        operation: 'unknown',
        acquiredAt: 'unknown',
        expiresAt: 'unknown',
      },
    });
  });

  it('fails with TransientError when DynamoDB throttles', async () => {
    // Arrange
    ddb.on(PutCommand).rejects(throttled());
    const store = makeStore();

    // Act
    const acquiring = store.acquire(lease);

    // Assert
    await expect(acquiring).rejects.toThrow(TransientError);
    await expect(acquiring).rejects.toThrow('ThrottlingException: rate exceeded');
  });

  it('fails with TransientError when DynamoDB answers with a 500', async () => {
    // Arrange
    ddb
      .on(PutCommand)
      .rejects(new InternalServerError({ message: 'internal failure', $metadata: { httpStatusCode: 500 } }));
    const store = makeStore();

    // Act
    const acquiring = store.acquire(lease);

    // Assert
    await expect(acquiring).rejects.toThrow(TransientError);
  });

  it('rejects with the original error when access is denied', async () => {
    // Arrange
    const denied = accessDenied();
    ddb.on(PutCommand).rejects(denied);
    const store = makeStore();

    // Act
    const acquiring = store.acquire(lease);

    // Assert
    await expect(acquiring).rejects.toBe(denied);
    await expect(acquiring).rejects.not.toThrow(TransientError);
  });
});

describe('acquire with several scopes', () => {
  it('gives back the scope it took when a later scope is held, all or nothing', async () => {
    // Arrange
    ddb.on(PutCommand, { Item: { pk: 'lock#prod#control-plane' } }).resolves({});
    ddb.on(PutCommand, { Item: { pk: 'lock#prod#workers' } }).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: { owner: { S: 'patch' }, operation: { S: 'patch-workers' }, expiresAt: { S: 'later' } },
      }),
    );
    ddb.on(DeleteCommand).resolves({});
    const store = makeStore();

    // Act
    const result = await store.acquire({ ...lease, scopes: ['workers', 'control-plane'] });

    // Assert
    expect(result).toMatchObject({ acquired: false, heldBy: { scope: 'workers', owner: 'patch' } });
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, {
      Key: { pk: 'lock#prod#control-plane' },
      ConditionExpression: '#owner = :owner AND acquiredAt = :at',
      ExpressionAttributeValues: { ':owner': 'exec-123', ':at': '2025-01-01T00:00:00.000Z' },
    });
  });

  it('keeps a scope it already held before the call when a later scope is held', async () => {
    // Arrange
    ddb
      .on(PutCommand, { Item: { pk: 'lock#prod#control-plane' } })
      .resolves({ Attributes: { owner: 'exec-123' } });
    ddb
      .on(PutCommand, { Item: { pk: 'lock#prod#workers' } })
      .rejects(new ConditionalCheckFailedException({ message: 'held', $metadata: {}, Item: {} }));
    const store = makeStore();

    // Act
    const result = await store.acquire({ ...lease, scopes: ['control-plane', 'workers'] });

    // Assert
    expect(result.acquired).toBe(false);
    expect(ddb).toHaveReceivedCommandTimes(DeleteCommand, 0);
  });
});

describe('renew', () => {
  it('extends only our own lease that has not lapsed', async () => {
    // Arrange
    ddb.on(UpdateCommand).resolves({});
    const store = makeStore();

    // Act
    const result = await store.renew({ ...lease, expiresAt: '2025-01-01T00:30:00.000Z' });

    // Assert
    expect(result).toEqual({ renewed: true });
    expect(ddb).toHaveReceivedCommandWith(UpdateCommand, {
      Key: { pk: 'lock#prod#control-plane' },
      ConditionExpression: '#owner = :owner AND expiresAt >= :now',
      ExpressionAttributeValues: expect.objectContaining({
        ':owner': 'exec-123',
        ':now': '2025-01-01T00:00:00.000Z',
        ':expires': '2025-01-01T00:30:00.000Z',
      }),
    });
  });

  it('names the holder when someone else holds the lease now', async () => {
    // Arrange
    ddb.on(UpdateCommand).rejects(
      new ConditionalCheckFailedException({
        message: 'The conditional request failed',
        $metadata: {},
        Item: {
          owner: { S: 'exec-other' },
          operation: { S: 'upgrade-control-plane' },
          expiresAt: { S: 'x' },
        },
      }),
    );
    const store = makeStore();

    // Act
    const result = await store.renew(lease);

    // Assert
    expect(result).toMatchObject({
      renewed: false,
      scope: 'control-plane',
      heldBy: { owner: 'exec-other', operation: 'upgrade-control-plane' },
    });
  });

  it('says nobody holds it when the lease is gone', async () => {
    // Arrange
    ddb.on(UpdateCommand).rejects(new ConditionalCheckFailedException({ message: 'gone', $metadata: {} }));
    ddb.on(GetCommand).resolves({});
    const store = makeStore();

    // Act
    const result = await store.renew(lease);

    // Assert
    expect(result).toEqual({ renewed: false, scope: 'control-plane' });
  });
});

describe('release', () => {
  it("deletes every scope's lease only where the owner matches and returns true", async () => {
    // Arrange
    ddb.on(DeleteCommand).resolves({});
    const store = makeStore();

    // Act
    const released = await store.release('prod', 'exec-123');

    // Assert
    const expected = (scope: string) => ({
      TableName: TABLE,
      Key: { pk: `lock#prod#${scope}` },
      ConditionExpression: '#owner = :owner',
      ExpressionAttributeNames: { '#owner': 'owner' },
      ExpressionAttributeValues: { ':owner': 'exec-123' },
    });
    expect(released).toBe(true);
    expect(ddb).toHaveReceivedCommandTimes(DeleteCommand, 2);
    expect(ddb.commandCalls(DeleteCommand).map((c) => c.args[0].input)).toEqual([
      expected('control-plane'),
      expected('workers'),
    ]);
  });

  it('returns false when the lease is not ours any more', async () => {
    // Arrange
    ddb
      .on(DeleteCommand)
      .rejects(
        new ConditionalCheckFailedException({ message: 'The conditional request failed', $metadata: {} }),
      );
    const store = makeStore();

    // Act
    const released = await store.release('prod', 'exec-123');

    // Assert
    expect(released).toBe(false);
  });

  it('fails with TransientError when DynamoDB throttles', async () => {
    // Arrange
    ddb.on(DeleteCommand).rejects(throttled());
    const store = makeStore();

    // Act
    const releasing = store.release('prod', 'exec-123');

    // Assert
    await expect(releasing).rejects.toThrow(TransientError);
  });

  it('rejects with the original error when access is denied', async () => {
    // Arrange
    const denied = accessDenied();
    ddb.on(DeleteCommand).rejects(denied);
    const store = makeStore();

    // Act
    const releasing = store.release('prod', 'exec-123');

    // Assert
    await expect(releasing).rejects.toBe(denied);
  });
});
