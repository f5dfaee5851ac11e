import { Match, type Template } from 'aws-cdk-lib/assertions';
import { buildStacks, roleStatements, templateFor, type Statement } from './build';

const eksArn = (resource: string) => ({
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, ':eks:us-east-1:', { Ref: 'AWS::AccountId' }, `:${resource}`],
  ],
});

const actions = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]).sort();

describe('the EKS workflows', () => {
  let us: Template;
  let eu: Template;

  beforeAll(() => {
    const { stacks } = buildStacks({
      clusters: [
        { name: 'prod-eu', kind: 'kubeadm', region: 'eu-west-1' },
        {
          name: 'apps-us',
          kind: 'eks',
          region: 'us-east-1',
          eks: { patch: { schedule: 'cron(0 2 ? * SAT *)', timeZone: 'America/New_York' } },
        },
      ],
    });
    us = templateFor(stacks, 'us-east-1');
    eu = templateFor(stacks, 'eu-west-1');
  });

  it('deploys both state machines only where an EKS cluster is', () => {
    const names = (t: Template) =>
      Object.keys(t.findResources('AWS::StepFunctions::StateMachine')).map((id) =>
        id.replace(/[0-9A-F]{8}$/, ''),
      );
    expect(names(us)).toEqual(
      expect.arrayContaining(['EksUpgradeStateMachine', 'EksPatchNodegroupsStateMachine']),
    );
    expect(names(eu).filter((n) => n.startsWith('Eks'))).toEqual([]);
    us.hasOutput('EksUpgradeStateMachineArn', {});
  });

  it('gates the upgrade with the approval function the Approvals construct deploys', () => {
    const machine = Object.entries(us.findResources('AWS::StepFunctions::StateMachine')).find(([id]) =>
      id.startsWith('EksUpgradeStateMachine'),
    )?.[1];
    const substitutions = machine?.Properties.DefinitionSubstitutions as Record<
      string,
      { 'Fn::GetAtt': string[] }
    >;
    expect(substitutions['RequestApprovalFunctionArn']!['Fn::GetAtt'][0]).toMatch(
      /^ApprovalsRequestApproval/,
    );
    expect(substitutions['EksStartUpdateFunctionArn']!['Fn::GetAtt'][0]).toMatch(/^EksFunctionsStartUpdate/);
  });

  it('lets eks-start-update change only the configured cluster, its add-ons and its node groups', () => {
    const statements = roleStatements(us, /^EksFunctionsStartUpdateRole/).filter((s) => s.Sid);
    expect(statements.map((s) => [s.Sid, actions(s), s.Resource])).toEqual([
      ['UpdateControlPlane', ['eks:UpdateClusterVersion'], eksArn('cluster/apps-us')],
      ['UpdateAddons', ['eks:UpdateAddon'], eksArn('addon/apps-us/*/*')],
      ['UpdateNodegroups', ['eks:UpdateNodegroupVersion'], eksArn('nodegroup/apps-us/*/*')],
    ]);
  });

  it('gives the preflight reads only, on the cluster ARN where EKS allows it', () => {
    const statements = roleStatements(us, /^EksFunctionsPreflightRole/).filter((s) => s.Sid);
    expect(statements.map((s) => [s.Sid, actions(s)])).toEqual([
      [
        'ReadEksClusters',
        [
          'eks:DescribeCluster',
          'eks:DescribeInsight',
          'eks:ListAddons',
          'eks:ListInsights',
          'eks:ListNodegroups',
        ],
      ],
      ['ReadEksAddonsAndNodegroups', ['eks:DescribeAddon', 'eks:DescribeNodegroup']],
      [
        'ReadCatalogAndNetwork',
        ['ec2:DescribeInstances', 'ec2:DescribeSubnets', 'eks:DescribeAddonVersions'],
      ],
    ]);
    expect(statements[0]!.Resource).toEqual(eksArn('cluster/apps-us'));
    const all = roleStatements(us, /^EksFunctions(Preflight|PlanPatch|CheckUpdate)Role/).flatMap(actions);
    expect(all.filter((a) => /^eks:(Update|Create|Delete|Tag)/.test(a))).toEqual([]);
  });

  it('lets eks-check-update only DescribeUpdate, and eks-plan-patch read the public AMI release parameters', () => {
    us.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Sid: 'DescribeUpdates', Action: 'eks:DescribeUpdate' }),
        ]),
      },
    });
    us.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'ReadAmiReleases',
            Action: 'ssm:GetParameter',
            Resource: [
              {
                'Fn::Join': [
                  '',
                  [
                    'arn:',
                    { Ref: 'AWS::Partition' },
                    ':ssm:us-east-1::parameter/aws/service/eks/optimized-ami/*',
                  ],
                ],
              },
              {
                'Fn::Join': [
                  '',
                  ['arn:', { Ref: 'AWS::Partition' }, ':ssm:us-east-1::parameter/aws/service/bottlerocket/*'],
                ],
              },
            ],
          }),
        ]),
      },
    });
  });

  it('schedules node-group patching in its maintenance window, and never schedules an upgrade', () => {
    us.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 2 ? * SAT *)',
      ScheduleExpressionTimezone: 'America/New_York',
      Target: Match.objectLike({
        Input: JSON.stringify({
          cluster: 'apps-us',
          workflow: 'eks-patch-nodegroups',
          scheduledTime: '<aws.scheduler.scheduled-time>',
        }),
      }),
    });
    const inputs = Object.values(us.findResources('AWS::Scheduler::Schedule')).map((r) =>
      String((r.Properties.Target as { Input: string }).Input),
    );
    expect(inputs.filter((i) => i.includes('eks-upgrade'))).toEqual([]);
    expect(inputs.filter((i) => i.includes('etcd-backup'))).toEqual([]);
  });
});
