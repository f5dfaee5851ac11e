import {
  DescribeInstancesCommand,
  EC2Client,
  EC2ServiceException,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { PutObjectCommand, PutObjectTaggingCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ec2ScratchFleet } from '../../../functions/shared/adapters/aws/ec2-scratch-fleet';
import { s3SnapshotStore } from '../../../functions/shared/adapters/aws/s3-snapshot-store';

const ec2 = mockClient(EC2Client);
const s3 = mockClient(S3Client);

beforeEach(() => {
  ec2.reset();
  s3.reset();
});

const launch = {
  cluster: 'lab',
  launchTemplate: 'lt-0123456789abcdef0',
  launchTemplateVersion: '$Default',
  subnetId: 'subnet-0123456789abcdef0',
  tags: { 'caretaker:cluster': 'lab', 'caretaker:role': 'scratch' },
  clientToken: 'restore-verify-lab-20261125T060000Z',
};

describe('ec2ScratchFleet', () => {
  it('launches one instance from the launch template with the tags on instance and volume, IMDSv2 required, and the client token', async () => {
    ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0badc0ffee0000001' }] });

    const out = await ec2ScratchFleet(new EC2Client({})).launch(launch);

    expect(out).toEqual({ instanceId: 'i-0badc0ffee0000001' });
    const tags = [
      { Key: 'caretaker:cluster', Value: 'lab' },
      { Key: 'caretaker:role', Value: 'scratch' },
    ];
    expect(ec2.commandCalls(RunInstancesCommand)[0]!.args[0].input).toEqual({
      MinCount: 1,
      MaxCount: 1,
      ClientToken: 'restore-verify-lab-20261125T060000Z',
      LaunchTemplate: { LaunchTemplateId: 'lt-0123456789abcdef0', Version: '$Default' },
      SubnetId: 'subnet-0123456789abcdef0',
      InstanceInitiatedShutdownBehavior: 'terminate',
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tags },
        { ResourceType: 'volume', Tags: tags },
      ],
    });
  });

  it('names a launch template by name when it is not an lt- id', async () => {
    ec2.on(RunInstancesCommand).resolves({ Instances: [{ InstanceId: 'i-0badc0ffee0000001' }] });
    await ec2ScratchFleet(new EC2Client({})).launch({ ...launch, launchTemplate: 'scratch-etcd' });
    expect(ec2).toHaveReceivedCommandWith(RunInstancesCommand, {
      LaunchTemplate: { LaunchTemplateName: 'scratch-etcd', Version: '$Default' },
    });
  });

  it('lists only instances tagged scratch that are not terminated', async () => {
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: 'i-1',
              State: { Name: 'running' },
              Tags: [{ Key: 'caretaker:role', Value: 'scratch' }],
            },
          ],
        },
      ],
    });
    const out = await ec2ScratchFleet(new EC2Client({})).listScratch();
    expect(out).toEqual([{ instanceId: 'i-1', state: 'running', tags: { 'caretaker:role': 'scratch' } }]);
    expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      Filters: [
        { Name: 'tag:caretaker:role', Values: ['scratch'] },
        { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
      ],
    });
  });

  it('treats an instance that is already gone as terminated', async () => {
    ec2.on(TerminateInstancesCommand).rejects(
      new EC2ServiceException({
        name: 'InvalidInstanceID.NotFound',
        $fault: 'client',
        $metadata: {},
        message: 'gone',
      }),
    );
    await expect(ec2ScratchFleet(new EC2Client({})).terminate('i-1')).resolves.toBeUndefined();
    expect(ec2).toHaveReceivedCommandWith(TerminateInstancesCommand, { InstanceIds: ['i-1'] });
  });

  it('rejects with the original error when termination is denied', async () => {
    ec2.on(TerminateInstancesCommand).rejects(
      new EC2ServiceException({
        name: 'UnauthorizedOperation',
        $fault: 'client',
        $metadata: {},
        message: 'no',
      }),
    );
    await expect(ec2ScratchFleet(new EC2Client({})).terminate('i-1')).rejects.toThrow('no');
  });
});

describe('s3SnapshotStore writes', () => {
  it('replaces the tag set with exactly the given tags', async () => {
    s3.on(PutObjectTaggingCommand).resolves({});
    await s3SnapshotStore('b', new S3Client({})).putTags('k.db', { 'caretaker:verified': 'true', team: 'x' });
    expect(s3.commandCalls(PutObjectTaggingCommand)[0]!.args[0].input).toEqual({
      Bucket: 'b',
      Key: 'k.db',
      Tagging: {
        TagSet: [
          { Key: 'caretaker:verified', Value: 'true' },
          { Key: 'team', Value: 'x' },
        ],
      },
    });
  });

  it('writes JSON with its content type', async () => {
    s3.on(PutObjectCommand).resolves({});
    await s3SnapshotStore('b', new S3Client({})).putJson('k.verification.json', { verified: true });
    expect(s3.commandCalls(PutObjectCommand)[0]!.args[0].input).toEqual({
      Bucket: 'b',
      Key: 'k.verification.json',
      Body: JSON.stringify({ verified: true }, null, 2),
      ContentType: 'application/json',
    });
  });
});
