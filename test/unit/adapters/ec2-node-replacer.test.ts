import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
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

describe('ec2NodeReplacer: reading a kops instance group', () => {
  const GROUP = 'master-eu-west-1a.masters.prod.k8s.example.com';
  const NEW = 'i-0f00000000000001';
  const group = (version: string | undefined) =>
    asg.on(DescribeAutoScalingGroupsCommand).resolves({
      AutoScalingGroups: [
        {
          AutoScalingGroupName: GROUP,
          LaunchTemplate: { LaunchTemplateId: 'lt-0kops', ...(version ? { Version: version } : {}) },
          Instances: [
            {
              InstanceId: ID,
              LifecycleState: 'Terminating',
              HealthStatus: 'Healthy',
              LaunchTemplate: { LaunchTemplateId: 'lt-0kops', Version: '6' },
            },
            {
              InstanceId: NEW,
              LifecycleState: 'InService',
              HealthStatus: 'Healthy',
              LaunchTemplate: { LaunchTemplateId: 'lt-0kops', Version: '7' },
            },
          ],
        } as never,
      ],
    });

  it("finds the instance's group and resolves $Latest to the launch template's latest version, as kops compares them", async () => {
    ours();
    asg.on(DescribeAutoScalingInstancesCommand).resolves({
      AutoScalingInstances: [{ InstanceId: ID, AutoScalingGroupName: GROUP } as never],
    });
    group('$Latest');
    ec2.on(DescribeLaunchTemplatesCommand).resolves({
      LaunchTemplates: [{ LaunchTemplateId: 'lt-0kops', LatestVersionNumber: 7, DefaultVersionNumber: 1 }],
    });

    const state = await replacer().groupOf('prod-eu', ID);

    expect(state).toMatchObject({
      name: GROUP,
      launchTemplate: 'lt-0kops:7',
      instances: [
        { instanceId: ID, lifecycleState: 'Terminating', launchTemplate: 'lt-0kops:6' },
        {
          instanceId: NEW,
          lifecycleState: 'InService',
          healthStatus: 'Healthy',
          launchTemplate: 'lt-0kops:7',
        },
      ],
    });
    expect(ec2).toHaveReceivedCommandWith(DescribeLaunchTemplatesCommand, {
      LaunchTemplateIds: ['lt-0kops'],
    });
    expect(asg).not.toHaveReceivedCommand(TerminateInstanceInAutoScalingGroupCommand);
  });

  it("reads where each member is reachable, only from the cluster's tagged instances, and a fixed version as it is", async () => {
    group('7');
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            {
              InstanceId: NEW,
              PrivateIpAddress: '10.0.3.7',
              PrivateDnsName: 'i-0f00000000000001.eu-west-1.compute.internal',
              PrivateDnsNameOptions: { HostnameType: 'resource-name' },
            },
          ],
        },
      ],
    });

    const state = await replacer().describeGroup('prod-eu', GROUP);

    expect(state.launchTemplate).toBe('lt-0kops:7');
    expect(state.instances[1]).toEqual({
      instanceId: NEW,
      lifecycleState: 'InService',
      healthStatus: 'Healthy',
      launchTemplate: 'lt-0kops:7',
      privateIp: '10.0.3.7',
      privateDnsName: 'i-0f00000000000001.eu-west-1.compute.internal',
      hostnameType: 'resource-name',
    });
    expect(state.instances[0]).not.toHaveProperty('privateIp');
    expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      InstanceIds: [ID, NEW],
      Filters: [{ Name: 'tag:caretaker:cluster', Values: ['prod-eu'] }],
    });
    expect(ec2).not.toHaveReceivedCommand(DescribeLaunchTemplatesCommand);
  });

  it('answers no group for an instance no group owns, and rejects a group name that does not exist', async () => {
    ours();
    asg.on(DescribeAutoScalingInstancesCommand).resolves({ AutoScalingInstances: [] });
    asg.on(DescribeAutoScalingGroupsCommand).resolves({ AutoScalingGroups: [] });

    expect(await replacer().groupOf('prod-eu', ID)).toBeUndefined();
    await expect(replacer().describeGroup('prod-eu', 'nope')).rejects.toThrow(
      new InvalidInputError('group: no Auto Scaling group named nope'),
    );
  });
});
