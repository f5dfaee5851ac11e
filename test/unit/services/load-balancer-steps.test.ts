import { checkAlarms } from '../../../functions/check-alarms/service';
import { checkTargets } from '../../../functions/check-targets/service';
import { deregisterTargets } from '../../../functions/deregister-targets/service';
import { registerTargets } from '../../../functions/register-targets/service';
import { parseConfig } from '../../../functions/shared/domain/config';
import type { TargetGroups, TargetHealth } from '../../../functions/shared/ports';
import { staticDirectory } from '../../support/fakes';

const TG1 = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api-int/0123456789abcdef';
const TG2 = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api-ext/fedcba9876543210';
const NODE = { instanceId: 'i-0a1b2c3d4e5f60001', privateIp: '10.20.1.11' };

const clusters = (targetGroupArns?: string[], blockerAlarms?: string[]) =>
  staticDirectory(
    parseConfig({
      clusters: [
        {
          name: 'prod-eu',
          kind: 'kubespray',
          region: 'eu-west-1',
          ...(targetGroupArns ? { controlPlane: { targetGroupArns } } : {}),
          ...(blockerAlarms ? { upgrade: { blockerAlarms } } : {}),
        },
      ],
    }).clusters,
  );

/** target groups in memory: each call recorded, health as the test sets it */
function groups(content: Record<string, TargetHealth[]>) {
  const calls: string[] = [];
  const tg: TargetGroups = {
    describe: async (arn, targets) => {
      calls.push(`describe ${arn.split('/')[1]}${targets ? ` ${targets.map((t) => t.id).join(',')}` : ''}`);
      return (content[arn] ?? []).filter((t) => !targets || targets.some((x) => x.id === t.id));
    },
    deregister: async (arn, targets) =>
      void calls.push(`deregister ${arn.split('/')[1]} ${JSON.stringify(targets)}`),
    register: async (arn, targets) =>
      void calls.push(`register ${arn.split('/')[1]} ${JSON.stringify(targets)}`),
  };
  return { tg, calls };
}

describe('deregister-targets', () => {
  it("takes the node out of every group, by instance id or by IP, with each target's port", async () => {
    const { tg, calls } = groups({
      [TG1]: [
        { targetGroupArn: TG1, id: NODE.instanceId, port: 6443, state: 'healthy' },
        { targetGroupArn: TG1, id: 'i-0a1b2c3d4e5f60002', port: 6443, state: 'healthy' },
      ],
      [TG2]: [{ targetGroupArn: TG2, id: NODE.privateIp, port: 443, state: 'healthy' }],
    });

    const out = await deregisterTargets(
      { cluster: 'prod-eu', node: NODE },
      { clusters: clusters([TG1, TG2]), targetGroups: tg },
    );

    expect(out).toEqual({
      targetGroups: 2,
      targets: [
        { targetGroupArn: TG1, id: NODE.instanceId, port: 6443 },
        { targetGroupArn: TG2, id: NODE.privateIp, port: 443 },
      ],
    });
    expect(calls).toEqual([
      'describe api-int',
      `deregister api-int [{"id":"${NODE.instanceId}","port":6443}]`,
      'describe api-ext',
      `deregister api-ext [{"id":"${NODE.privateIp}","port":443}]`,
    ]);
  });

  it('changes nothing when the cluster has no target groups configured', async () => {
    const { tg, calls } = groups({});

    expect(
      await deregisterTargets({ cluster: 'prod-eu', node: NODE }, { clusters: clusters(), targetGroups: tg }),
    ).toEqual({ targets: [], targetGroups: 0 });
    expect(calls).toEqual([]);
  });
});

describe('check-targets', () => {
  const targets = [{ targetGroupArn: TG1, id: NODE.instanceId, port: 6443 }];

  it('is not settled while a target drains, and says why', async () => {
    const { tg } = groups({
      [TG1]: [
        {
          targetGroupArn: TG1,
          id: NODE.instanceId,
          port: 6443,
          state: 'draining',
          reason: 'Target.DeregistrationInProgress',
        },
      ],
    });

    expect(
      await checkTargets({ cluster: 'prod-eu', targets, want: 'out', checks: 3 }, { targetGroups: tg }),
    ).toMatchObject({
      settled: false,
      deadlineExpired: false,
      checks: 4,
      reason: `still draining after 4 check(s): api-int ${NODE.instanceId}:6443 draining (Target.DeregistrationInProgress)`,
    });
  });

  it('is settled out when the target is no longer registered, and in when it is healthy', async () => {
    expect(
      (await checkTargets({ cluster: 'prod-eu', targets, want: 'out' }, { targetGroups: groups({}).tg }))
        .settled,
    ).toBe(true);
    const { tg } = groups({
      [TG1]: [{ targetGroupArn: TG1, id: NODE.instanceId, port: 6443, state: 'healthy' }],
    });
    expect(
      (await checkTargets({ cluster: 'prod-eu', targets, want: 'in' }, { targetGroups: tg })).settled,
    ).toBe(true);
  });

  it('says the deadline expired at the last allowed check', async () => {
    const { tg } = groups({
      [TG1]: [{ targetGroupArn: TG1, id: NODE.instanceId, port: 6443, state: 'unhealthy' }],
    });

    expect(
      await checkTargets({ cluster: 'prod-eu', targets, want: 'in', checks: 29 }, { targetGroups: tg }),
    ).toMatchObject({ settled: false, deadlineExpired: true, checks: 30 });
  });
});

describe('register-targets', () => {
  it('puts back exactly the targets taken out, grouped by target group', async () => {
    const { tg, calls } = groups({});

    await registerTargets(
      {
        cluster: 'prod-eu',
        targets: [
          { targetGroupArn: TG1, id: NODE.instanceId, port: 6443 },
          { targetGroupArn: TG2, id: NODE.privateIp },
        ],
      },
      { targetGroups: tg },
    );

    expect(calls).toEqual([
      `register api-int [{"id":"${NODE.instanceId}","port":6443}]`,
      `register api-ext [{"id":"${NODE.privateIp}"}]`,
    ]);
  });
});

describe('check-alarms', () => {
  it('lists the blocker alarms in ALARM', async () => {
    const alarms = { inAlarm: jest.fn(async () => ['api-5xx']) };

    const out = await checkAlarms(
      { cluster: 'prod-eu' },
      { clusters: clusters(undefined, ['api-5xx', 'etcd-fsync']), alarms },
    );

    expect(out).toEqual({ checked: ['api-5xx', 'etcd-fsync'], firing: [{ name: 'api-5xx' }] });
    expect(alarms.inAlarm).toHaveBeenCalledWith(['api-5xx', 'etcd-fsync']);
  });

  it('asks CloudWatch nothing when the cluster lists no blocker alarms', async () => {
    const alarms = { inAlarm: jest.fn() };

    expect(await checkAlarms({ cluster: 'prod-eu' }, { clusters: clusters(), alarms })).toEqual({
      checked: [],
      firing: [],
    });
    expect(alarms.inAlarm).not.toHaveBeenCalled();
  });
});
