import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { placeholdersIn } from '../../infra/definition-substitutions';
import { buildStacks, DOCUMENT_NAMES, ROOT, roleStatements, templateFor, type Statement } from './build';

function allStatements(template: Template): Statement[] {
  return [
    ...Object.values(template.findResources('AWS::IAM::Policy')),
    ...Object.values(template.findResources('AWS::IAM::ManagedPolicy')),
  ].flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

const ec2Arn = (resource: string) => ({
  'Fn::Join': [
    '',
    ['arn:', { Ref: 'AWS::Partition' }, `:ec2:eu-west-1:`, { Ref: 'AWS::AccountId' }, `:${resource}`],
  ],
});

describe('the restore-verify workflow', () => {
  let eu: Template;
  let us: Template;

  beforeAll(() => {
    const { stacks } = buildStacks();
    eu = templateFor(stacks, 'eu-west-1');
    us = templateFor(stacks, 'us-east-1');
  });

  describe('state machine', () => {
    it('is Standard, logs errors without execution data and traces', () => {
      const [machine] = Object.entries(eu.findResources('AWS::StepFunctions::StateMachine')).filter(([id]) =>
        id.startsWith('RestoreVerifyStateMachine'),
      );
      expect(machine?.[1].Properties).toMatchObject({
        StateMachineType: 'STANDARD',
        LoggingConfiguration: {
          Level: 'ERROR',
          IncludeExecutionData: false,
          Destinations: [
            {
              CloudWatchLogsLogGroup: {
                LogGroupArn: { 'Fn::GetAtt': [expect.stringMatching(/^RestoreVerifyLogs/), 'Arn'] },
              },
            },
          ],
        },
        TracingConfiguration: { Enabled: true },
      });
    });

    it('substitutes every function the definition names, each with its own function', () => {
      const machine = Object.entries(eu.findResources('AWS::StepFunctions::StateMachine')).find(([id]) =>
        id.startsWith('RestoreVerify'),
      )?.[1];
      const substitutions = machine?.Properties.DefinitionSubstitutions as Record<string, unknown>;
      const definition = readFileSync(join(ROOT, 'state-machines/restore-verify.asl.json'), 'utf8');
      expect(Object.keys(substitutions).sort()).toEqual(placeholdersIn(definition));
      expect(Object.keys(substitutions).sort()).toEqual([
        'CheckScratchReadyFunctionArn',
        'LaunchScratchFunctionArn',
        'PickSnapshotFunctionArn',
        'PublishOutcomeFunctionArn',
        'RecordVerificationFunctionArn',
        'SendCommandFunctionArn',
        'TerminateScratchFunctionArn',
      ]);
      const expected: Record<string, RegExp> = {
        CheckScratchReadyFunctionArn: /^RestoreVerifyCheckScratchReadyFunction/,
        LaunchScratchFunctionArn: /^RestoreVerifyLaunchScratchFunction/,
        PickSnapshotFunctionArn: /^RestoreVerifyPickSnapshotFunction/,
        PublishOutcomeFunctionArn: /^NotificationsPublishOutcomeFunction/,
        RecordVerificationFunctionArn: /^RestoreVerifyRecordVerificationFunction/,
        SendCommandFunctionArn: /^CommandRunnerSendCommandFunction/,
        TerminateScratchFunctionArn: /^RestoreVerifyTerminateScratchFunction/,
      };
      for (const [name, value] of Object.entries(substitutions)) {
        expect(value).toEqual({ 'Fn::GetAtt': [expect.stringMatching(expected[name] as RegExp), 'Arn'] });
      }
    });

    it('sends only commands that are deployed as documents', () => {
      for (const file of ['restore-verify', 'etcd-backup']) {
        const definition = readFileSync(join(ROOT, `state-machines/${file}.asl.json`), 'utf8');
        for (const [, command] of definition.matchAll(/"command": "([a-z-]+)"/g)) {
          expect(DOCUMENT_NAMES).toContain(command);
        }
      }
    });

    it('may invoke exactly its seven functions', () => {
      eu.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('^RestoreVerifyStateMachineRole') }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Effect: 'Allow',
              Action: 'lambda:InvokeFunction',
              Resource: Match.arrayEquals(
                Array.from({ length: 7 }, () => ({ 'Fn::GetAtt': [Match.anyValue(), 'Arn'] })),
              ),
            },
          ]),
        },
      });
    });

    it('is exported and started by start-workflow', () => {
      eu.hasOutput('RestoreVerifyStateMachineArn', {
        Value: { Ref: Match.stringLikeRegexp('^RestoreVerifyStateMachine') },
        Export: { Name: 'Caretaker-eu-west-1-RestoreVerifyStateMachineArn' },
      });
      // every deployed workflow's state machine by name, restore-verify's among them
      const starters = Object.values(eu.findResources('AWS::Lambda::Function')).filter(
        (f) =>
          (f.Properties as { Environment?: { Variables?: Record<string, unknown> } }).Environment?.Variables
            ?.POWERTOOLS_SERVICE_NAME === 'caretaker-start-workflow',
      );
      expect(starters).toHaveLength(1);
      const [, parts] = (
        starters[0]!.Properties as {
          Environment: { Variables: { STATE_MACHINES: { 'Fn::Join': [string, unknown[]] } } };
        }
      ).Environment.Variables.STATE_MACHINES['Fn::Join'];
      const at = parts.findIndex((p) => typeof p === 'string' && p.endsWith('"restore-verify":"'));
      expect(at).toBeGreaterThanOrEqual(0);
      expect(parts[at + 1]).toEqual({ Ref: expect.stringMatching(/^RestoreVerifyStateMachine/) });
      eu.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('StartWorkflowRole') }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Effect: 'Allow',
              Action: 'states:StartExecution',
              Resource: Match.arrayWith([
                { Ref: Match.stringLikeRegexp('^EtcdBackupStateMachine') },
                { Ref: Match.stringLikeRegexp('^RestoreVerifyStateMachine') },
              ]),
            },
          ]),
        },
      });
    });

    it('is not deployed in a stack without a cluster that has restoreVerify', () => {
      // us-east-1 has the etcd backup and the EKS workflows, no restore verification
      const machines = Object.keys(us.findResources('AWS::StepFunctions::StateMachine'));
      expect(machines).toContainEqual(expect.stringMatching(/^EtcdBackupStateMachine/));
      expect(machines.filter((id) => id.startsWith('RestoreVerify'))).toEqual([]);
      expect(Object.keys(us.findOutputs('*'))).not.toContain('RestoreVerifyStateMachineArn');
    });
  });

  describe('scratch instances', () => {
    it('launches only instances the request tags caretaker:role=scratch of a verifiable cluster', () => {
      const launch = roleStatements(eu, /^RestoreVerifyLaunchScratchRole/);
      expect(launch).toContainEqual({
        Sid: 'LaunchOnlyTaggedScratchInstances',
        Effect: 'Allow',
        Action: 'ec2:RunInstances',
        Resource: ec2Arn('instance/*'),
        Condition: {
          ArnLike: { 'ec2:LaunchTemplate': [ec2Arn('launch-template/lt-0123456789abcdef0')] },
          StringEquals: {
            'aws:RequestTag/caretaker:role': 'scratch',
            'aws:RequestTag/caretaker:cluster': ['prod-eu'],
            'ec2:MetadataHttpTokens': 'required',
          },
        },
      });
      // the instance resource appears in no other RunInstances statement
      const instanceGrants = launch.filter(
        (s) => actionsOf(s).includes('ec2:RunInstances') && JSON.stringify(s.Resource).includes(':instance/'),
      );
      expect(instanceGrants).toHaveLength(1);
    });

    it('launches from the configured launch template only, and the resources it names', () => {
      const launch = roleStatements(eu, /^RestoreVerifyLaunchScratchRole/);
      expect(launch).toContainEqual(
        expect.objectContaining({
          Action: 'ec2:RunInstances',
          Resource: ec2Arn('launch-template/lt-0123456789abcdef0'),
        }),
      );
      const runInstances = launch.filter((s) => actionsOf(s).includes('ec2:RunInstances'));
      const named = runInstances.flatMap((s) => (Array.isArray(s.Resource) ? s.Resource : [s.Resource]));
      expect(named).toEqual(
        expect.arrayContaining(
          ['subnet/*', 'security-group/*', 'key-pair/*', 'network-interface/*', 'volume/*'].map(ec2Arn),
        ),
      );
      expect(named).toContainEqual({
        'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, ':ec2:eu-west-1::image/*']],
      });
    });

    it('tags only while launching', () => {
      expect(roleStatements(eu, /^RestoreVerifyLaunchScratchRole/)).toContainEqual({
        Sid: 'TagOnlyWhileLaunching',
        Effect: 'Allow',
        Action: 'ec2:CreateTags',
        Resource: [ec2Arn('instance/*'), ec2Arn('volume/*')],
        Condition: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
      });
    });

    it('passes the configured scratch instance role to EC2 only', () => {
      expect(roleStatements(eu, /^RestoreVerifyLaunchScratchRole/)).toContainEqual({
        Sid: 'PassOnlyTheScratchInstanceRoleToEc2',
        Effect: 'Allow',
        Action: 'iam:PassRole',
        Resource: {
          'Fn::Join': [
            '',
            [
              'arn:',
              { Ref: 'AWS::Partition' },
              ':iam::',
              { Ref: 'AWS::AccountId' },
              ':role/caretaker-scratch-prod-eu',
            ],
          ],
        },
        Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
      });
    });

    it.each(['TerminateScratch', 'ReapScratch'])('%s terminates only instances tagged scratch', (fn) => {
      expect(roleStatements(eu, new RegExp(`^RestoreVerify${fn}Role`))).toContainEqual({
        Sid: 'TerminateOnlyScratchInstances',
        Effect: 'Allow',
        Action: 'ec2:TerminateInstances',
        Resource: ec2Arn('instance/*'),
        Condition: { StringEquals: { 'aws:ResourceTag/caretaker:role': 'scratch' } },
      });
    });

    it.each([
      ['eu-west-1', () => eu],
      ['us-east-1', () => us],
    ])('in %s, no role may terminate, tag or pass a role without those conditions', (_region, template) => {
      for (const s of allStatements(template())) {
        const actions = actionsOf(s);
        if (actions.some((a) => a === 'ec2:TerminateInstances' || a === 'ec2:*' || a === '*')) {
          expect(s.Condition).toEqual({ StringEquals: { 'aws:ResourceTag/caretaker:role': 'scratch' } });
        }
        if (actions.includes('ec2:CreateTags')) {
          expect(s.Condition).toEqual({ StringEquals: { 'ec2:CreateAction': 'RunInstances' } });
        }
        if (actions.includes('iam:PassRole')) {
          expect(s.Condition).toEqual({ StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } });
        }
      }
    });

    it('waits for readiness with read-only lookups', () => {
      expect(roleStatements(eu, /^RestoreVerifyCheckScratchReadyRole/)).toContainEqual({
        Effect: 'Allow',
        Action: ['ec2:DescribeInstances', 'ssm:DescribeInstanceInformation'],
        Resource: '*',
      });
    });

    it('runs the janitor every 15 minutes and alarms when it keeps failing', () => {
      eu.hasResourceProperties('AWS::Events::Rule', {
        ScheduleExpression: 'rate(15 minutes)',
        State: 'ENABLED',
        Targets: [
          Match.objectLike({
            Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('^RestoreVerifyReapScratchFunction'), 'Arn'] },
          }),
        ],
      });
      eu.hasResourceProperties('AWS::CloudWatch::Alarm', {
        Namespace: 'AWS/Lambda',
        MetricName: 'Errors',
        Dimensions: [
          {
            Name: 'FunctionName',
            Value: { Ref: Match.stringLikeRegexp('^RestoreVerifyReapScratchFunction') },
          },
        ],
        AlarmActions: [{ Ref: Match.stringLikeRegexp('NotificationsOutcomes') }],
      });
    });
  });

  describe('snapshots', () => {
    const objects = (prefix: string) => ({
      'Fn::Join': [
        '',
        [{ 'Fn::GetAtt': [Match.stringLikeRegexp('^SnapshotBucketSnapshots'), 'Arn'] }, prefix],
      ],
    });

    it('pick-snapshot lists and reads the etcd clusters\u2019 snapshot prefixes only', () => {
      eu.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('^RestoreVerifyPickSnapshotRole') }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Sid: 'ListClusterSnapshots',
              Effect: 'Allow',
              Action: 's3:ListBucket',
              Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SnapshotBucketSnapshots'), 'Arn'] },
              Condition: { StringLike: { 's3:prefix': ['prod-eu/etcd/*', 'edge/etcd/*'] } },
            },
            {
              Sid: 'ReadClusterSnapshots',
              Effect: 'Allow',
              Action: ['s3:GetObject', 's3:GetObjectTagging'],
              Resource: [objects('/prod-eu/etcd/*'), objects('/edge/etcd/*')],
            },
          ]),
        },
      });
    });

    it('record-verification tags and reports under the verified clusters\u2019 prefixes only', () => {
      eu.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('^RestoreVerifyRecordVerificationRole') }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Sid: 'RecordVerdictBesideSnapshot',
              Effect: 'Allow',
              Action: ['s3:GetObjectTagging', 's3:PutObjectTagging', 's3:PutObject'],
              Resource: objects('/prod-eu/etcd/*'),
            },
            {
              Effect: 'Allow',
              Action: 'kms:GenerateDataKey',
              Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('^SnapshotBucketKey'), 'Arn'] },
            },
          ]),
        },
      });
    });

    it.each(['PickSnapshot', 'RecordVerification'])('%s is told the bucket', (fn) => {
      const [resource] = Object.entries(eu.findResources('AWS::Lambda::Function')).filter(([id]) =>
        id.startsWith(`RestoreVerify${fn}Function`),
      );
      expect(resource?.[1].Properties.Environment.Variables).toMatchObject({
        SNAPSHOT_BUCKET: { Ref: expect.stringMatching(/^SnapshotBucketSnapshots/) },
        CLUSTER_PARAMETER_PREFIX: '/caretaker/clusters',
      });
    });
  });

  describe('per cluster', () => {
    it('schedules restore-verify for a cluster with restoreVerify at its schedule and time zone', () => {
      eu.hasResourceProperties('AWS::Scheduler::Schedule', {
        Description: 'Caretaker restore-verify for cluster prod-eu',
        ScheduleExpression: 'rate(1 day)',
        ScheduleExpressionTimezone: 'UTC',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('StartWorkflowFunction'), 'Arn'] },
          Input: JSON.stringify({
            cluster: 'prod-eu',
            workflow: 'restore-verify',
            scheduledTime: '<aws.scheduler.scheduled-time>',
          }),
        }),
      });
      const schedules = Object.values(eu.findResources('AWS::Scheduler::Schedule')).map(
        (s) => s.Properties.Description as string,
      );
      expect(schedules.filter((d) => d.includes('restore-verify'))).toEqual([
        'Caretaker restore-verify for cluster prod-eu',
      ]);
    });

    it('alarms when no snapshot was verified in alarmAfterHours (the probe measures the verified age)', () => {
      eu.hasResourceProperties('AWS::CloudWatch::Alarm', {
        AlarmName: 'caretaker.prod-eu.verified-snapshot-age-seconds',
        Namespace: 'Caretaker',
        MetricName: 'VerifiedSnapshotAgeSeconds',
        Dimensions: [{ Name: 'cluster', Value: 'prod-eu' }],
        Statistic: 'Maximum',
        Threshold: 48 * 3600,
        ComparisonOperator: 'GreaterThanOrEqualToThreshold',
        TreatMissingData: 'breaching',
        AlarmActions: [{ Ref: Match.stringLikeRegexp('NotificationsOutcomes') }],
        OKActions: [{ Ref: Match.stringLikeRegexp('NotificationsOutcomes') }],
      });
      const verified = Object.values(eu.findResources('AWS::CloudWatch::Alarm')).filter(
        (a) => a.Properties.MetricName === 'VerifiedSnapshotAgeSeconds',
      );
      expect(verified).toHaveLength(1);
    });
  });
});

describe('restore-verify configuration variants', () => {
  it('creates no restore-verify schedule, alarm, function or state machine without restoreVerify', () => {
    const { stacks } = buildStacks({
      clusters: [{ name: 'solo', kind: 'kubeadm', region: 'eu-west-1' }],
    });
    const solo = templateFor(stacks, 'eu-west-1');
    expect(JSON.stringify(solo.findResources('AWS::Scheduler::Schedule'))).not.toContain('restore-verify');
    expect(JSON.stringify(solo.findResources('AWS::CloudWatch::Alarm'))).not.toContain('Verified');
    expect(Object.keys(solo.toJSON().Resources).filter((id) => id.startsWith('RestoreVerify'))).toEqual([]);
    solo.resourceCountIs('AWS::Scheduler::Schedule', 1);
    // etcd-backup, upgrade-control-plane and patch-control-plane (deployed for every self-managed
    // cluster, started by hand)
    solo.resourceCountIs('AWS::StepFunctions::StateMachine', 3);
    expect(Object.keys(solo.findOutputs('*'))).not.toContain('RestoreVerifyStateMachineArn');
  });

  it('deploys the workflow but neither schedule nor alarm when restoreVerify.enabled is false', () => {
    const { stacks } = buildStacks({
      clusters: [
        {
          name: 'prod-eu',
          kind: 'kubeadm',
          region: 'eu-west-1',
          restoreVerify: { launchTemplate: 'caretaker-scratch', enabled: false },
        },
      ],
    });
    const off = templateFor(stacks, 'eu-west-1');
    // etcd-backup, restore-verify, upgrade-control-plane and patch-control-plane
    off.resourceCountIs('AWS::StepFunctions::StateMachine', 4);
    const json = JSON.stringify(off.findResources('AWS::Scheduler::Schedule'));
    expect(json).not.toContain('restore-verify');
    expect(JSON.stringify(off.findResources('AWS::CloudWatch::Alarm'))).not.toContain('Verified');
    // a template given by name has no id at synth: any launch template of the account and region
    expect(roleStatements(off, /^RestoreVerifyLaunchScratchRole/)).toContainEqual(
      expect.objectContaining({
        Sid: 'LaunchFromConfiguredTemplates',
        Resource: ec2Arn('launch-template/*'),
      }),
    );
  });
});
