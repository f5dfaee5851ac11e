import {
  CloudWatchClient,
  CloudWatchServiceException,
  DescribeAlarmsCommand,
} from '@aws-sdk/client-cloudwatch';
import { CreateTagsCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { cloudWatchAlarmStates } from '../../../functions/shared/adapters/aws/cloudwatch-alarm-states';
import { ec2InstanceTagger } from '../../../functions/shared/adapters/aws/ec2-instance-tagger';
import { InvalidInputError, TransientError } from '../../../functions/shared/errors';

const cw = mockClient(CloudWatchClient);
const ec2 = mockClient(EC2Client);

beforeEach(() => {
  cw.reset();
  ec2.reset();
});

describe('cloudWatchAlarmStates', () => {
  it('asks for the named alarms in ALARM, metric and composite, and returns their names', async () => {
    cw.on(DescribeAlarmsCommand).resolves({
      MetricAlarms: [{ AlarmName: 'api-5xx' }],
      CompositeAlarms: [{ AlarmName: 'cluster-degraded' }],
    });

    const alarming = await cloudWatchAlarmStates(new CloudWatchClient({})).inAlarm([
      'api-5xx',
      'cluster-degraded',
      'etcd-latency',
    ]);

    expect(alarming).toEqual(['api-5xx', 'cluster-degraded']);
    expect(cw).toHaveReceivedCommandWith(DescribeAlarmsCommand, {
      AlarmNames: ['api-5xx', 'cluster-degraded', 'etcd-latency'],
      AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
      StateValue: 'ALARM',
    });
  });

  it('asks at most 100 names per call', async () => {
    cw.on(DescribeAlarmsCommand).resolves({});
    const names = Array.from({ length: 150 }, (_, i) => `alarm-${i}`);

    await cloudWatchAlarmStates(new CloudWatchClient({})).inAlarm(names);

    expect(cw).toHaveReceivedCommandTimes(DescribeAlarmsCommand, 2);
    expect(cw.commandCalls(DescribeAlarmsCommand)[1]!.args[0].input.AlarmNames).toHaveLength(50);
  });

  it('turns throttling into TransientError', async () => {
    cw.on(DescribeAlarmsCommand).rejects(
      new CloudWatchServiceException({
        name: 'Throttling',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
      }),
    );

    await expect(cloudWatchAlarmStates(new CloudWatchClient({})).inAlarm(['a'])).rejects.toBeInstanceOf(
      TransientError,
    );
  });
});

describe('ec2InstanceTagger', () => {
  it("tags one of the cluster's instances after checking its cluster tag", async () => {
    ec2
      .on(DescribeInstancesCommand)
      .resolves({ Reservations: [{ Instances: [{ InstanceId: 'i-0123456789abcdef0' }] }] });
    ec2.on(CreateTagsCommand).resolves({});

    await ec2InstanceTagger(new EC2Client({})).tag('prod-eu', 'i-0123456789abcdef0', {
      'caretaker:patched-at': 't',
    });

    expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      InstanceIds: ['i-0123456789abcdef0'],
      Filters: [{ Name: 'tag:caretaker:cluster', Values: ['prod-eu'] }],
    });
    expect(ec2).toHaveReceivedCommandWith(CreateTagsCommand, {
      Resources: ['i-0123456789abcdef0'],
      Tags: [{ Key: 'caretaker:patched-at', Value: 't' }],
    });
  });

  it("rejects an instance that is not the cluster's, and tags nothing", async () => {
    ec2.on(DescribeInstancesCommand).resolves({ Reservations: [] });

    await expect(
      ec2InstanceTagger(new EC2Client({})).tag('prod-eu', 'i-0123456789abcdef0', {
        'caretaker:patched-at': 't',
      }),
    ).rejects.toBeInstanceOf(InvalidInputError);
    expect(ec2).not.toHaveReceivedCommand(CreateTagsCommand);
  });
});
