import {
  judgeReplacement,
  kopsNodeName,
  launchTemplateProblem,
  retarget,
} from '../../../functions/shared/domain/kops-replacement';
import type { AutoScalingGroupState } from '../../../functions/shared/ports';

const OLD = 'i-0aaa000000000001';
const NEW = 'i-0bbb000000000002';
const TG = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/0123456789abcdef';
const group = (over: Partial<AutoScalingGroupState['instances'][number]> = {}): AutoScalingGroupState => ({
  name: 'master-eu-west-1a.masters.prod',
  launchTemplate: 'lt-0kops:7',
  instances: [
    { instanceId: OLD, lifecycleState: 'Terminating', healthStatus: 'Healthy', launchTemplate: 'lt-0kops:6' },
    {
      instanceId: NEW,
      lifecycleState: 'InService',
      healthStatus: 'Healthy',
      launchTemplate: 'lt-0kops:7',
      privateIp: '10.0.3.7',
      privateDnsName: 'ip-10-0-3-7.eu-west-1.compute.internal',
      hostnameType: 'ip-name',
      ...over,
    },
  ],
});

describe('kops replacement', () => {
  it('refuses to replace an instance that already runs its group launch template version, and judges none it cannot read', () => {
    expect(launchTemplateProblem(group(), NEW)).toMatch(
      /already runs lt-0kops:7.*Run kops update cluster --yes first/,
    );
    expect(launchTemplateProblem(group(), OLD)).toBeUndefined();
    expect(launchTemplateProblem({ ...group(), launchTemplate: undefined }, NEW)).toBeUndefined();
  });

  it('names the Node after the private DNS name, or the instance id with resource-based hostnames', () => {
    expect(kopsNodeName(group().instances[1]!)).toBe('ip-10-0-3-7.eu-west-1.compute.internal');
    expect(kopsNodeName({ ...group().instances[1]!, hostnameType: 'resource-name' })).toBe(NEW);
    expect(kopsNodeName({ instanceId: NEW })).toBeUndefined();
  });

  it('moves instance targets to the new id and IP targets to the new private IP, with their ports', () => {
    expect(
      retarget(
        [
          { targetGroupArn: TG, id: OLD, port: 443 },
          { targetGroupArn: TG, id: '10.0.1.4', port: 443 },
        ],
        { instanceId: NEW, privateIp: '10.0.3.7' },
      ),
    ).toEqual([
      { targetGroupArn: TG, id: NEW, port: 443 },
      { targetGroupArn: TG, id: '10.0.3.7', port: 443 },
    ]);
    expect(retarget([{ targetGroupArn: TG, id: '10.0.1.4' }], { instanceId: NEW })).toBeUndefined();
  });

  it('is ready once the new instance is InService and Healthy, with its Node and targets', () => {
    const p = judgeReplacement({
      group: group(),
      replaced: OLD,
      before: [OLD],
      targets: [{ targetGroupArn: TG, id: OLD, port: 443 }],
      maxChecks: 40,
    });

    expect(p).toMatchObject({
      ready: true,
      deadlineExpired: false,
      checks: 1,
      instanceId: NEW,
      node: 'ip-10-0-3-7.eu-west-1.compute.internal',
      targets: [{ targetGroupArn: TG, id: NEW, port: 443 }],
    });
  });

  it('keeps waiting on a Pending instance and fails at the deadline, saying what it saw', () => {
    const pending = group({ lifecycleState: 'Pending' });
    const base = { group: pending, replaced: OLD, before: [OLD], targets: [], maxChecks: 3 };

    expect(judgeReplacement({ ...base, checks: 0 })).toMatchObject({ ready: false, deadlineExpired: false });
    const last = judgeReplacement({ ...base, checks: 2 });
    expect(last).toMatchObject({ ready: false, deadlineExpired: true, checks: 3 });
    expect(last.summary).toContain(
      `did not bring a replacement for ${OLD} into service within 3 checks: ${NEW} is Pending/Healthy`,
    );
    // an instance that was there before is never taken for the replacement
    expect(judgeReplacement({ ...base, group: group(), before: [OLD, NEW] }).summary).toContain(
      'no new instance yet',
    );
  });
});
