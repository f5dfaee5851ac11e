import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mockClient } from 'aws-sdk-client-mock';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { EC2Client } from '@aws-sdk/client-ec2';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SNSClient } from '@aws-sdk/client-sns';
import { SSMClient } from '@aws-sdk/client-ssm';
import { InvalidInputError } from '../../../functions/shared/errors';
import { lambdaContext } from '../../support/lambda-context';
import * as acquireLock from '../../../functions/acquire-lock/handler';
import * as releaseLock from '../../../functions/release-lock/handler';
import * as findControlPlane from '../../../functions/find-control-plane/handler';
import * as sendCommand from '../../../functions/send-command/handler';
import * as pickMember from '../../../functions/pick-member/handler';
import * as verifyUpload from '../../../functions/verify-upload/handler';
import * as pruneSnapshots from '../../../functions/prune-snapshots/handler';
import * as publishOutcome from '../../../functions/publish-outcome/handler';
import * as completeCommand from '../../../functions/complete-command/handler';
import * as startWorkflow from '../../../functions/start-workflow/handler';

const event = (name: string) => JSON.parse(readFileSync(join(__dirname, '../../../events', name), 'utf8'));

// every client any handler could build: a bad input must reach none of them
const clients = [
  DynamoDBClient,
  DynamoDBDocumentClient,
  EC2Client,
  S3Client,
  SFNClient,
  SNSClient,
  SSMClient,
].map((c) => mockClient(c as never));

const ssmEvent = event('aws.ssm/command-invocation-success.json');

describe.each([
  [
    'acquire-lock',
    acquireLock.handler,
    { cluster: 'prod-eu', owner: 'exec', operation: 'etcd-backup', leaseSeconds: 5 },
    /leaseSeconds: Too small/,
  ],
  [
    'acquire-lock',
    acquireLock.handler,
    { cluster: 'Prod EU', owner: 'exec', operation: 'etcd-backup', leaseSeconds: 600 },
    /cluster: must be a configured cluster name/,
  ],
  ['release-lock', releaseLock.handler, { cluster: 'prod-eu' }, /owner: /],
  ['find-control-plane', findControlPlane.handler, {}, /cluster: /],
  [
    'send-command',
    sendCommand.handler,
    {
      taskToken: 't',
      cluster: 'prod-eu',
      instanceId: 'i-0a1b2c3d4e5f60001',
      command: 'rm -rf /',
      executionId: 'e',
    },
    /command: Invalid option/,
  ],
  [
    'send-command',
    sendCommand.handler,
    { taskToken: 't', cluster: 'prod-eu', instanceId: 'host-1', command: 'etcd-status', executionId: 'e' },
    /instanceId: must be an EC2 or managed instance id/,
  ],
  [
    'pick-member',
    pickMember.handler,
    { cluster: 'prod-eu', statuses: [{ instanceId: 'i-0a1b2c3d4e5f60001', healthy: 'yes' }] },
    /statuses\[0\]/,
  ],
  [
    'verify-upload',
    verifyUpload.handler,
    { cluster: 'prod-eu', snapshot: { key: 'k', sha256: 'nothex' } },
    /snapshot\.bucket: .*snapshot\.sha256: must be a hex sha256/,
  ],
  ['prune-snapshots', pruneSnapshots.handler, { cluster: '' }, /cluster: must be a configured cluster name/],
  [
    'publish-outcome',
    publishOutcome.handler,
    { cluster: 'prod-eu', workflow: 'etcd-backup', outcome: 'Great', executionId: 'e', startedAt: 'now' },
    /outcome: .*startedAt: /,
  ],
  [
    'complete-command',
    completeCommand.handler,
    { ...ssmEvent, detail: { ...ssmEvent.detail, 'command-id': 'not-a-uuid' } },
    /detail\.command-id: /,
  ],
  [
    'start-workflow',
    startWorkflow.handler,
    { cluster: 'prod-eu', workflow: 'etcd-backup', scheduledTime: 'yesterday' },
    /scheduledTime: /,
  ],
])('%s handler', (name, handler, input, message) => {
  beforeEach(() => clients.forEach((c) => c.reset()));

  it(`rejects bad input naming the field (${String(message)}) and calls no AWS API`, async () => {
    const run = (handler as (e: unknown, c: unknown) => Promise<unknown>)(input, lambdaContext(name));
    await expect(run).rejects.toThrow(InvalidInputError);
    await expect(
      (handler as (e: unknown, c: unknown) => Promise<unknown>)(input, lambdaContext(name)),
    ).rejects.toThrow(message);
    for (const c of clients) expect(c.calls()).toHaveLength(0);
  });
});

describe('handlers with their ports', () => {
  it('pick-member returns the domain choice through middy', async () => {
    const out = await pickMember.handler(
      {
        cluster: 'prod-eu',
        statuses: [
          { instanceId: 'i-0a1b2c3d4e5f60001', healthy: true, memberId: '1', isLeader: true, revision: 5 },
          { instanceId: 'i-0a1b2c3d4e5f60002', healthy: true, memberId: '2', isLeader: false, revision: 5 },
        ],
      },
      lambdaContext('pick-member'),
    );
    expect(out).toMatchObject({ instanceId: 'i-0a1b2c3d4e5f60002', isLeader: false });
  });

  it('complete-command reads the invocation named by a real-shaped SSM event', async () => {
    const getInvocation = jest.fn(async () => undefined);
    const handler = completeCommand.makeHandler({
      runner: { send: jest.fn(), findSent: jest.fn(), getInvocation },
      tokens: { claim: jest.fn(), recordSent: jest.fn(), put: jest.fn(), take: jest.fn(), list: jest.fn() },
      callbacks: { succeed: jest.fn(), fail: jest.fn() },
      clock: { now: () => new Date() },
    });
    const out = await handler(ssmEvent, lambdaContext('complete-command'));
    expect(getInvocation).toHaveBeenCalledWith('e8d3c0e4-71f7-4491-898f-c9b35bee5f3b', 'i-0a1b2c3d4e5f60001');
    expect(out).toEqual({ completed: false, outcome: 'still-running' });
  });

  it('builds its AWS deps only once, on first use', async () => {
    const factory = jest.fn(() => ({
      locks: { acquire: jest.fn(), renew: jest.fn(), holders: jest.fn(), release: jest.fn(async () => true) },
    }));
    const handler = releaseLock.makeHandler(factory);
    expect(factory).not.toHaveBeenCalled();
    await handler({ cluster: 'prod-eu', owner: 'exec' }, lambdaContext('release-lock'));
    await handler({ cluster: 'prod-eu', owner: 'exec' }, lambdaContext('release-lock'));
    expect(factory).toHaveBeenCalledTimes(1);
  });
});
