import {
  AutoScalingClient,
  DescribeAutoScalingInstancesCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstancesCommand,
  EC2Client,
  EC2ServiceException,
  RebootInstancesCommand,
} from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { ec2NodeReplacer } from '../../../functions/shared/adapters/aws/ec2-node-replacer';
import { InvalidInputError, TransientError } from '../../../functions/shared/errors';

const ec2 = mockClient(EC2Client);
const asg = mockClient(AutoScalingClient);
const ID = 'i-0beef00000000001';
const replacer = () => ec2NodeReplacer(new EC2Client({}), new AutoScalingClient({}));
const ours = () =>
  ec2.on(DescribeInstancesCommand).resolves({ Reservations: [{ Instances: [{ InstanceId: ID }] }] });

beforeEach(() => {
  ec2.reset();
  asg.reset();
});

describe('ec2NodeReplacer', () => {
  it("reboots one of the cluster's instances, after checking its cluster tag", async () => {
    ours();
    ec2.on(RebootInstancesCommand).resolves({});

    await replacer().reboot('prod-eu', ID);

    expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      InstanceIds: [ID],
      Filters: [{ Name: 'tag:caretaker:cluster', Values: ['prod-eu'] }],
    });
    expect(ec2).toHaveReceivedCommandWith(RebootInstancesCommand, { InstanceIds: [ID] });
  });

  it("refuses an instance that is not the cluster's, rebooting and terminating nothing", async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });

    await expect(replacer().reboot('prod-eu', ID)).rejects.toBeInstanceOf(InvalidInputError);
    await expect(replacer().replace('prod-eu', ID)).rejects.toThrow(
      /does not carry caretaker:cluster=prod-eu/,
    );
    expect(ec2).not.toHaveReceivedCommand(RebootInstancesCommand);
    expect(asg).not.toHaveReceivedCommand(DescribeAutoScalingInstancesCommand);
    expect(asg).not.toHaveReceivedCommand(TerminateInstanceInAutoScalingGroupCommand);
  });

  it('replaces through its Auto Scaling group without lowering the desired capacity', async () => {
    ours();
    asg.on(DescribeAutoScalingInstancesCommand).resolves({
      AutoScalingInstances: [{ InstanceId: ID, AutoScalingGroupName: 'prod-eu-workers' } as never],
    });
    asg.on(TerminateInstanceInAutoScalingGroupCommand).resolves({});

    expect(await replacer().replace('prod-eu', ID)).toEqual({ replaced: true, group: 'prod-eu-workers' });
    expect(asg).toHaveReceivedCommandWith(TerminateInstanceInAutoScalingGroupCommand, {
      InstanceId: ID,
      ShouldDecrementDesiredCapacity: false,
    });
  });

  it('terminates nothing when no Auto Scaling group owns the instance', async () => {
    ours();
    asg.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });

    expect(await replacer().replace('prod-eu', ID)).toEqual({ replaced: false });
    expect(asg).not.toHaveReceivedCommand(TerminateInstanceInAutoScalingGroupCommand);
  });

  it('turns throttling into TransientError', async () => {
    ours();
    ec2.on(RebootInstancesCommand).rejects(
      new EC2ServiceException({
        name: 'RequestLimitExceeded',
        $fault: 'client',
        $metadata: { httpStatusCode: 503 },
      }),
    );

    await expect(replacer().reboot('prod-eu', ID)).rejects.toBeInstanceOf(TransientError);
  });
});
