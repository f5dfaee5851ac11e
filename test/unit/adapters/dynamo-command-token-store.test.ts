import { DynamoDBClient, DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { DeleteCommand, DynamoDBDocumentClient, PutCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import { mockClient } from 'aws-sdk-client-mock';
// types for the matchers; jest's setupFilesAfterEnv registers them at run time
import 'aws-sdk-client-mock-jest';
import { dynamoCommandTokenStore } from '../../../functions/shared/adapters/aws/dynamo-command-token-store';
import { TransientError } from '../../../functions/shared/errors';
import type { PendingCommand } from '../../../functions/shared/ports';

const TABLE = 'caretaker-state';
const ddb = mockClient(DynamoDBDocumentClient);

const pending: PendingCommand = {
  commandId: 'cmd-1',
  instanceId: 'i-0aaa',
  taskToken: 'token-1',
  cluster: 'prod',
  command: 'etcd-snapshot',
  sentAt: '2025-01-01T00:00:00.000Z',
  deadline: '2025-01-01T01:00:00.000Z',
};

function makeStore() {
  return dynamoCommandTokenStore(TABLE, DynamoDBDocumentClient.from(new DynamoDBClient({})));
}

function throttled(): DynamoDBServiceException {
  return new DynamoDBServiceException({
    name: 'ProvisionedThroughputExceededException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'throughput exceeded',
  });
}

beforeEach(() => {
  ddb.reset();
});

describe('put', () => {
  it('stores the record under command#<commandId>#<instanceId> with a ttl one day past the deadline', async () => {
    // Arrange
    ddb.on(PutCommand).resolves({});
    const store = makeStore();

    // Act
    await store.put(pending);

    // Assert
    const expected = {
      TableName: TABLE,
      Item: {
        pk: 'command#cmd-1#i-0aaa',
        commandId: 'cmd-1',
        instanceId: 'i-0aaa',
        taskToken: 'token-1',
        cluster: 'prod',
        command: 'etcd-snapshot',
        sentAt: '2025-01-01T00:00:00.000Z',
        deadline: '2025-01-01T01:00:00.000Z',
        // 2025-01-01T01:00:00Z is 1735693200; plus 86400
        ttl: 1_735_779_600,
      },
    };
    expect(ddb).toHaveReceivedCommandTimes(PutCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(PutCommand, expected);
    expect(ddb.commandCalls(PutCommand)[0]?.args[0].input).toEqual(expected);
  });

  it('fails with TransientError when DynamoDB throttles', async () => {
    // Arrange
    ddb.on(PutCommand).rejects(throttled());
    const store = makeStore();

    // Act
    const putting = store.put(pending);

    // Assert
    await expect(putting).rejects.toThrow(TransientError);
  });
});

describe('take', () => {
  it('deletes the record returning its old attributes and gives back the pending command', async () => {
    // Arrange
    ddb.on(DeleteCommand).resolves({ Attributes: { pk: 'command#cmd-1#i-0aaa', ...pending, ttl: 1 } });
    const store = makeStore();

    // Act
    const taken = await store.take('cmd-1', 'i-0aaa');

    // Assert
    const expected = {
      TableName: TABLE,
      Key: { pk: 'command#cmd-1#i-0aaa' },
      ReturnValues: 'ALL_OLD',
    };
    expect(taken).toStrictEqual(pending);
    expect(ddb).toHaveReceivedCommandTimes(DeleteCommand, 1);
    expect(ddb).toHaveReceivedCommandWith(DeleteCommand, expected);
    expect(ddb.commandCalls(DeleteCommand)[0]?.args[0].input).toEqual(expected);
  });

  it('returns undefined when another completer already took the record', async () => {
    // Arrange
    ddb.on(DeleteCommand).resolves({});
    const store = makeStore();

    // Act
    const taken = await store.take('cmd-1', 'i-0aaa');

    // Assert
    expect(taken).toBeUndefined();
  });

  it('fails with TransientError when DynamoDB throttles', async () => {
    // Arrange
    ddb.on(DeleteCommand).rejects(throttled());
    const store = makeStore();

    // Act
    const taking = store.take('cmd-1', 'i-0aaa');

    // Assert
    await expect(taking).rejects.toThrow(TransientError);
  });
});

describe('list', () => {
  it('scans for command# records across every page', async () => {
    // Arrange
    const second: PendingCommand = { ...pending, commandId: 'cmd-2', instanceId: 'i-0bbb', taskToken: 't-2' };
    const pages = [
      {
        Items: [{ pk: 'command#cmd-1#i-0aaa', ...pending, ttl: 1 }],
        LastEvaluatedKey: { pk: 'command#cmd-1#i-0aaa' },
      },
      { Items: [{ pk: 'command#cmd-2#i-0bbb', ...second, ttl: 1 }] },
    ];
    // the SDK paginator reuses one input object across pages, so copy each input as it is sent
    const sent: Record<string, unknown>[] = [];
    ddb.on(ScanCommand).callsFake((input: Record<string, unknown>) => {
      sent.push({ ...input });
      return pages[sent.length - 1];
    });
    const store = makeStore();

    // Act
    const listed = await store.list();

    // Assert
    const scan = {
      TableName: TABLE,
      FilterExpression: 'begins_with(pk, :prefix)',
      ExpressionAttributeValues: { ':prefix': 'command#' },
    };
    expect(listed).toStrictEqual([pending, second]);
    expect(ddb).toHaveReceivedCommandTimes(ScanCommand, 2);
    expect(ddb).toHaveReceivedNthCommandWith(1, ScanCommand, scan);
    expect(ddb).toHaveReceivedNthCommandWith(2, ScanCommand, scan);
    expect(sent).toEqual([scan, { ...scan, ExclusiveStartKey: { pk: 'command#cmd-1#i-0aaa' } }]);
  });

  it('returns an empty list when the scan finds nothing', async () => {
    // Arrange
    ddb.on(ScanCommand).resolves({});
    const store = makeStore();

    // Act
    const listed = await store.list();

    // Assert
    expect(listed).toEqual([]);
    expect(ddb).toHaveReceivedCommandTimes(ScanCommand, 1);
  });

  it('fails with TransientError when a page is throttled', async () => {
    // Arrange
    ddb
      .on(ScanCommand)
      .resolvesOnce({ Items: [], LastEvaluatedKey: { pk: 'command#x' } })
      .rejectsOnce(throttled());
    const store = makeStore();

    // Act
    const listing = store.list();

    // Assert
    await expect(listing).rejects.toThrow(TransientError);
  });
});
