import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  ElasticLoadBalancingV2ServiceException,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { elbv2TargetGroups } from '../../../functions/shared/adapters/aws/elbv2-target-groups';
import { TransientError } from '../../../functions/shared/errors';

const elb = mockClient(ElasticLoadBalancingV2Client);
const TG = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/k8s-api/0123456789abcdef';

beforeEach(() => elb.reset());

describe('elbv2TargetGroups', () => {
  it('describes every target of a group with its health', async () => {
    elb.on(DescribeTargetHealthCommand).resolves({
      TargetHealthDescriptions: [
        { Target: { Id: 'i-0aaaaaaaaaaaaaaa1', Port: 6443 }, TargetHealth: { State: 'healthy' } },
        {
          Target: { Id: 'i-0aaaaaaaaaaaaaaa2', Port: 6443 },
          TargetHealth: { State: 'draining', Reason: 'Target.DeregistrationInProgress' },
        },
      ],
    });

    const out = await elbv2TargetGroups(new ElasticLoadBalancingV2Client({})).describe(TG);

    expect(out).toEqual([
      { targetGroupArn: TG, id: 'i-0aaaaaaaaaaaaaaa1', port: 6443, state: 'healthy', reason: undefined },
      {
        targetGroupArn: TG,
        id: 'i-0aaaaaaaaaaaaaaa2',
        port: 6443,
        state: 'draining',
        reason: 'Target.DeregistrationInProgress',
      },
    ]);
    expect(elb).toHaveReceivedCommandWith(DescribeTargetHealthCommand, { TargetGroupArn: TG });
  });

  it('asks about just the given targets, with their ports', async () => {
    elb.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [] });

    await elbv2TargetGroups(new ElasticLoadBalancingV2Client({})).describe(TG, [
      { id: 'i-0aaaaaaaaaaaaaaa1', port: 6443 },
    ]);

    expect(elb).toHaveReceivedCommandWith(DescribeTargetHealthCommand, {
      TargetGroupArn: TG,
      Targets: [{ Id: 'i-0aaaaaaaaaaaaaaa1', Port: 6443 }],
    });
  });

  it('deregisters and registers exactly the targets given, a port only where one is known', async () => {
    elb.on(DeregisterTargetsCommand).resolves({});
    elb.on(RegisterTargetsCommand).resolves({});
    const groups = elbv2TargetGroups(new ElasticLoadBalancingV2Client({}));

    await groups.deregister(TG, [{ id: 'i-0aaaaaaaaaaaaaaa1', port: 6443 }]);
    await groups.register(TG, [{ id: '10.0.1.12' }]);

    expect(elb).toHaveReceivedCommandWith(DeregisterTargetsCommand, {
      TargetGroupArn: TG,
      Targets: [{ Id: 'i-0aaaaaaaaaaaaaaa1', Port: 6443 }],
    });
    expect(elb).toHaveReceivedCommandWith(RegisterTargetsCommand, {
      TargetGroupArn: TG,
      Targets: [{ Id: '10.0.1.12' }],
    });
  });

  it('turns throttling into TransientError, which the state machine retries', async () => {
    elb.on(DeregisterTargetsCommand).rejects(
      new ElasticLoadBalancingV2ServiceException({
        name: 'Throttling',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'Rate exceeded',
      }),
    );

    await expect(
      elbv2TargetGroups(new ElasticLoadBalancingV2Client({})).deregister(TG, [{ id: 'i-0aaaaaaaaaaaaaaa1' }]),
    ).rejects.toBeInstanceOf(TransientError);
  });
});
