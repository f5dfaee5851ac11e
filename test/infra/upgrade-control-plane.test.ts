import { Match, type Template } from 'aws-cdk-lib/assertions';
import { buildStacks, roleStatements, templateFor } from './build';

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
});
