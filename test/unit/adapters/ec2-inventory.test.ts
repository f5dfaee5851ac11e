import { DescribeInstancesCommand, EC2Client, EC2ServiceException } from '@aws-sdk/client-ec2';
import {
  DescribeInstanceInformationCommand,
  type DescribeInstanceInformationCommandInput,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
// types for the matchers; jest's setupFilesAfterEnv registers them at run time
import 'aws-sdk-client-mock-jest';
import { ec2Inventory } from '../../../functions/shared/adapters/aws/ec2-inventory';
import { TransientError } from '../../../functions/shared/errors';

const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);

const tags = { 'kubernetes.io/cluster/prod': 'owned', role: 'control-plane' };

function makeInventory() {
  return ec2Inventory(new EC2Client({}), new SSMClient({}));
}

function ec2Instance(id: string, name?: string) {
  return {
    InstanceId: id,
    PrivateIpAddress: '10.0.0.1',
    Placement: { AvailabilityZone: 'eu-west-1a' },
    Tags: name ? [{ Key: 'Name', Value: name }] : [],
  };
}

/** SSM answers Online for every id it is asked about */
function allOnline(input: DescribeInstanceInformationCommandInput) {
  const ids = input.Filters?.[0]?.Values ?? [];
  return { InstanceInformationList: ids.map((id) => ({ InstanceId: id, PingStatus: 'Online' as const })) };
}

beforeEach(() => {
  ec2.reset();
  ssm.reset();
});

describe('findManagedInstances', () => {
  it('filters EC2 on running state and each tag, then asks SSM about exactly those instances', async () => {
    // Arrange
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        { Instances: [ec2Instance('i-0bbb', 'cp-2')] },
        { Instances: [ec2Instance('i-0aaa', 'cp-1')] },
      ],
    });
    ssm.on(DescribeInstanceInformationCommand).callsFake(allOnline);
    const inventory = makeInventory();

    // Act
    const found = await inventory.findManagedInstances(tags);

    // Assert
    const describeInstances = {
      Filters: [
        { Name: 'instance-state-name', Values: ['running'] },
        { Name: 'tag:kubernetes.io/cluster/prod', Values: ['owned'] },
        { Name: 'tag:role', Values: ['control-plane'] },
      ],
    };
    const describeInformation = { Filters: [{ Key: 'InstanceIds', Values: ['i-0bbb', 'i-0aaa'] }] };
    expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 1);
    expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, describeInstances);
    expect(ec2.commandCalls(DescribeInstancesCommand)[0]?.args[0].input).toEqual(describeInstances);
    expect(ssm).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 1);
    expect(ssm).toHaveReceivedCommandWith(DescribeInstanceInformationCommand, describeInformation);
    expect(ssm.commandCalls(DescribeInstanceInformationCommand)[0]?.args[0].input).toEqual(
      describeInformation,
    );
    expect(found).toEqual([
      { instanceId: 'i-0aaa', name: 'cp-1', privateIp: '10.0.0.1', availabilityZone: 'eu-west-1a' },
      { instanceId: 'i-0bbb', name: 'cp-2', privateIp: '10.0.0.1', availabilityZone: 'eu-west-1a' },
    ]);
  });

  it('drops instances SSM reports as ConnectionLost or does not report at all', async () => {
    // Arrange
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [{ Instances: [ec2Instance('i-0aaa'), ec2Instance('i-0bbb'), ec2Instance('i-0ccc')] }],
    });
    ssm.on(DescribeInstanceInformationCommand).resolves({
      InstanceInformationList: [
        { InstanceId: 'i-0aaa', PingStatus: 'ConnectionLost' },
        { InstanceId: 'i-0ccc', PingStatus: 'Online' },
      ],
    });
    const inventory = makeInventory();

    // Act
    const found = await inventory.findManagedInstances(tags);

    // Assert
    expect(found.map((i) => i.instanceId)).toEqual(['i-0ccc']);
    expect(found[0]?.name).toBeUndefined();
  });

  it('reads instances from every DescribeInstances page', async () => {
    // Arrange
    ec2
      .on(DescribeInstancesCommand)
      .resolvesOnce({ Reservations: [{ Instances: [ec2Instance('i-0bbb')] }], NextToken: 'page-2' })
      .resolvesOnce({ Reservations: [{ Instances: [ec2Instance('i-0aaa')] }] });
    ssm.on(DescribeInstanceInformationCommand).callsFake(allOnline);
    const inventory = makeInventory();

    // Act
    const found = await inventory.findManagedInstances(tags);

    // Assert
    expect(ec2).toHaveReceivedCommandTimes(DescribeInstancesCommand, 2);
    expect(ec2).toHaveReceivedNthCommandWith(2, DescribeInstancesCommand, { NextToken: 'page-2' });
    expect(found.map((i) => i.instanceId)).toEqual(['i-0aaa', 'i-0bbb']);
  });

  it('returns an empty list without asking SSM when EC2 finds no instance', async () => {
    // Arrange
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });
    const inventory = makeInventory();

    // Act
    const found = await inventory.findManagedInstances(tags);

    // Assert
    expect(found).toEqual([]);
    expect(ssm).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 0);
  });

  it('asks SSM in batches of at most 50 instance ids', async () => {
    // Arrange
    const ids = Array.from({ length: 120 }, (_, n) => `i-${String(n).padStart(17, '0')}`);
    ec2
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: ids.map((id) => ec2Instance(id)) }] });
    ssm.on(DescribeInstanceInformationCommand).callsFake(allOnline);
    const inventory = makeInventory();

    // Act
    const found = await inventory.findManagedInstances(tags);

    // Assert
    expect(ssm).toHaveReceivedCommandTimes(DescribeInstanceInformationCommand, 3);
    expect(ssm).toHaveReceivedNthCommandWith(1, DescribeInstanceInformationCommand, {
      Filters: [{ Key: 'InstanceIds', Values: ids.slice(0, 50) }],
    });
    expect(ssm).toHaveReceivedNthCommandWith(2, DescribeInstanceInformationCommand, {
      Filters: [{ Key: 'InstanceIds', Values: ids.slice(50, 100) }],
    });
    expect(ssm).toHaveReceivedNthCommandWith(3, DescribeInstanceInformationCommand, {
      Filters: [{ Key: 'InstanceIds', Values: ids.slice(100) }],
    });
    expect(found.map((i) => i.instanceId)).toEqual(ids);
  });

  it('fails with TransientError when EC2 throttles', async () => {
    // Arrange
    ec2.on(DescribeInstancesCommand).rejects(
      new EC2ServiceException({
        name: 'RequestLimitExceeded',
        $fault: 'client',
        $metadata: { httpStatusCode: 503 },
        message: 'Request limit exceeded.',
      }),
    );
    const inventory = makeInventory();

    // Act
    const finding = inventory.findManagedInstances(tags);

    // Assert
    await expect(finding).rejects.toThrow(TransientError);
  });

  it('rejects with the original error when EC2 denies access', async () => {
    // Arrange
    const denied = new EC2ServiceException({
      name: 'UnauthorizedOperation',
      $fault: 'client',
      $metadata: { httpStatusCode: 403 },
      message: 'not authorized',
    });
    ec2.on(DescribeInstancesCommand).rejects(denied);
    const inventory = makeInventory();

    // Act
    const finding = inventory.findManagedInstances(tags);

    // Assert
    await expect(finding).rejects.toBe(denied);
  });
});
