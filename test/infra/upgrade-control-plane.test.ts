import { Match, type Template } from 'aws-cdk-lib/assertions';
import { buildStacks, CONFIG, roleStatements, templateFor } from './build';

const TG = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/prod-eu-api/0123456789abcdef';

let eu: Template;

beforeAll(() => {
  const { stacks } = buildStacks();
  eu = templateFor(stacks, 'eu-west-1');
});

describe('the upgrade-control-plane state machine', () => {
  it('starts the etcd-backup state machine as a nested execution, and only that one', () => {
    const statements = roleStatements(eu, /UpgradeControlPlaneStateMachineRole/);

    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: 'states:StartExecution',
          Resource: { Ref: expect.stringMatching(/^EtcdBackupStateMachine/) },
        }),
        expect.objectContaining({
          Action: ['states:DescribeExecution', 'states:StopExecution'],
        }),
        expect.objectContaining({
          Action: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        }),
      ]),
    );
  });

  it('gets the backup state machine and its own functions as definition substitutions', () => {
    eu.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      DefinitionSubstitutions: Match.objectLike({
        EtcdBackupStateMachineArn: { Ref: Match.stringLikeRegexp('^EtcdBackupStateMachine') },
        DeregisterTargetsFunctionArn: Match.anyValue(),
        PlanUpgradeFunctionArn: Match.anyValue(),
        RequestApprovalFunctionArn: Match.anyValue(),
      }),
    });
  });

  it('lets the target functions change only the configured target groups, and check-alarms read only the blocker alarms', () => {
    const [first, ...rest] = CONFIG.clusters;
    const { stacks } = buildStacks({
      ...CONFIG,
      clusters: [
        {
          ...first!,
          controlPlane: { targetGroupArns: [TG] },
          upgrade: { blockerAlarms: ['prod-eu-api-5xx'] },
        },
        ...rest,
      ],
    });
    const t = templateFor(stacks, 'eu-west-1');

    expect(roleStatements(t, /UpgradeControlPlaneDeregisterTargetsRole/)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: 'elasticloadbalancing:DescribeTargetHealth', Resource: '*' }),
        expect.objectContaining({ Action: 'elasticloadbalancing:DeregisterTargets', Resource: TG }),
      ]),
    );
    expect(roleStatements(t, /UpgradeControlPlaneRegisterTargetsRole/)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: 'elasticloadbalancing:RegisterTargets', Resource: TG }),
      ]),
    );
    const alarms = roleStatements(t, /UpgradeControlPlaneCheckAlarmsRole/).find(
      (st) => st.Action === 'cloudwatch:DescribeAlarms',
    );
    expect(JSON.stringify(alarms?.Resource)).toContain(':alarm:prod-eu-api-5xx');
    // without target groups nobody may deregister anything
    const actions = roleStatements(eu, /UpgradeControlPlane.*Role/).flatMap((st) => [st.Action].flat());
    expect(actions).toContain('elasticloadbalancing:DescribeTargetHealth');
    expect(actions).not.toContain('elasticloadbalancing:DeregisterTargets');
    expect(actions).not.toContain('elasticloadbalancing:RegisterTargets');
  });
});
