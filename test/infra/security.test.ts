import type { Template } from 'aws-cdk-lib/assertions';
import { buildStacks, templateFor } from './build';

/** the findings of issue 7, each guarded on the synthesized template */

type Json = Record<string, unknown>;
interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  Action: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

function resources(template: Template, type: string): Record<string, Json & { Properties: Json }> {
  return template.findResources(type) as Record<string, Json & { Properties: Json }>;
}

function policyStatements(policy: Json & { Properties: Json }, field = 'PolicyDocument'): Statement[] {
  return (policy.Properties[field] as { Statement: Statement[] }).Statement;
}

describe('security review (issue 7)', () => {
  let eu: Template;
  let us: Template;

  beforeAll(() => {
    const { stacks } = buildStacks();
    eu = templateFor(stacks, 'eu-west-1');
    us = templateFor(stacks, 'us-east-1');
  });

  describe('1. alarms reach the topic', () => {
    it.each([
      ['eu-west-1', () => eu],
      ['us-east-1', () => us],
    ])(
      'in %s, every alarm action topic lets CloudWatch publish that alarm, by topic and key policy',
      (_r, t) => {
        const template = t();
        const alarms = resources(template, 'AWS::CloudWatch::Alarm');
        const topics = resources(template, 'AWS::SNS::Topic');
        const topicPolicies = Object.values(resources(template, 'AWS::SNS::TopicPolicy'));
        const keys = resources(template, 'AWS::KMS::Key');
        expect(Object.keys(alarms).length).toBeGreaterThan(0);

        for (const [alarmId, alarm] of Object.entries(alarms)) {
          const actions = [...list(alarm.Properties.AlarmActions), ...list(alarm.Properties.OKActions)];
          expect(actions.length).toBeGreaterThan(0);
          for (const action of actions as { Ref: string }[]) {
            const policy = topicPolicies.find((p) =>
              (p.Properties.Topics as unknown[]).some(
                (ref) => JSON.stringify(ref) === JSON.stringify(action),
              ),
            );
            expect(policy).toBeDefined();
            const allow = policyStatements(policy!).find(
              (s) =>
                s.Effect === 'Allow' &&
                JSON.stringify(s.Principal) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }) &&
                list(s.Action).includes('sns:Publish'),
            );
            expect(allow?.Resource).toEqual(action);
            expect(allow?.Condition?.StringEquals?.['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
            expect(list(allow?.Condition?.ArnEquals?.['aws:SourceArn'])).toContainEqual({
              'Fn::GetAtt': [alarmId, 'Arn'],
            });

            // the topic is encrypted: CloudWatch must be able to use its key too
            const topic = topics[action.Ref];
            const keyRef = topic?.Properties.KmsMasterKeyId as { 'Fn::GetAtt': [string, string] };
            const key = keys[keyRef['Fn::GetAtt'][0]];
            const keyAllows = policyStatements(key!, 'KeyPolicy').find(
              (s) =>
                s.Effect === 'Allow' &&
                JSON.stringify(s.Principal) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }),
            );
            expect(list(keyAllows?.Action)).toEqual(
              expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey']),
            );
          }
        }
      },
    );
  });

  describe('4. failed asynchronous invocations are kept and alarmed', () => {
    it.each([
      ['CommandRunnerCompleteCommand', () => eu],
      ['CommandRunnerReconcileCommands', () => eu],
      ['WorkflowStarterStartWorkflow', () => eu],
      ['RestoreVerifyReapScratch', () => eu],
      ['CommandRunnerCompleteCommand', () => us],
      ['WorkflowStarterStartWorkflow', () => us],
    ])('%s sends what fails after two retries to its own encrypted, TLS-only queue', (fn, t) => {
      const template = t();
      const configs = Object.values(resources(template, 'AWS::Lambda::EventInvokeConfig')).filter((c) =>
        (c.Properties.FunctionName as { Ref: string }).Ref.startsWith(`${fn}Function`),
      );
      expect(configs).toHaveLength(1);
      const config = configs[0]!.Properties;
      expect(config.MaximumRetryAttempts).toBe(2);
      const destination = (config.DestinationConfig as { OnFailure: { Destination: unknown } }).OnFailure
        .Destination as { 'Fn::GetAtt': [string, string] };
      const queueId = destination['Fn::GetAtt'][0];
      expect(queueId).toMatch(new RegExp(`^${fn}FailedEvents`));
      expect(resources(template, 'AWS::SQS::Queue')[queueId]?.Properties).toMatchObject({
        SqsManagedSseEnabled: true,
      });
      const tlsDeny = Object.values(resources(template, 'AWS::SQS::QueuePolicy'))
        .filter((p) => JSON.stringify(p.Properties.Queues).includes(queueId))
        .flatMap((p) => policyStatements(p))
        .find((s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false');
      expect(tlsDeny).toBeDefined();
    });

    it.each([
      ['eu-west-1', () => eu],
      ['us-east-1', () => us],
    ])('in %s, every dead-letter queue alarms to the topic as soon as it holds a message', (_r, t) => {
      const template = t();
      const queues = Object.keys(resources(template, 'AWS::SQS::Queue'));
      const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm'));
      expect(queues.length).toBeGreaterThanOrEqual(4);
      for (const queueId of queues) {
        const alarm = alarms.find(
          (a) =>
            a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' &&
            JSON.stringify(a.Properties.Dimensions) ===
              JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }]),
        );
        expect(alarm?.Properties).toMatchObject({
          Namespace: 'AWS/SQS',
          ComparisonOperator: 'GreaterThanThreshold',
          Threshold: 0,
          EvaluationPeriods: 1,
          AlarmActions: [{ Ref: expect.stringMatching(/^NotificationsOutcomes/) }],
        });
      }
    });
  });

  describe('11. state machine logs hold no execution data and every log group is encrypted', () => {
    it.each([
      ['eu-west-1', () => eu],
      ['us-east-1', () => us],
    ])('in %s, every state machine logs errors only, without inputs and outputs', (_r, t) => {
      const machines = Object.values(resources(t(), 'AWS::StepFunctions::StateMachine'));
      expect(machines.length).toBeGreaterThan(0);
      for (const machine of machines) {
        expect(machine.Properties.LoggingConfiguration).toMatchObject({
          Level: 'ERROR',
          IncludeExecutionData: false,
        });
      }
    });

    it.each([
      ['eu-west-1', () => eu],
      ['us-east-1', () => us],
    ])(
      'in %s, every log group is encrypted with the logs key, which CloudWatch Logs may use',
      (region, t) => {
        const template = t();
        const groups = Object.values(resources(template, 'AWS::Logs::LogGroup'));
        expect(groups.length).toBeGreaterThan(0);
        for (const group of groups) {
          expect(group.Properties.KmsKeyId).toEqual({
            'Fn::GetAtt': [expect.stringMatching(/^LogsKey/), 'Arn'],
          });
        }
        const [logsKeyResource] = Object.entries(resources(template, 'AWS::KMS::Key')).filter(([id]) =>
          id.startsWith('LogsKey'),
        );
        expect(policyStatements(logsKeyResource![1], 'KeyPolicy')).toContainEqual(
          expect.objectContaining({
            Effect: 'Allow',
            Principal: { Service: `logs.${region}.amazonaws.com` },
            Condition: {
              ArnLike: {
                'kms:EncryptionContext:aws:logs:arn': {
                  'Fn::Join': [
                    '',
                    [
                      'arn:',
                      { Ref: 'AWS::Partition' },
                      `:logs:${region}:`,
                      { Ref: 'AWS::AccountId' },
                      ':log-group:*',
                    ],
                  ],
                },
              },
            },
          }),
        );
      },
    );
  });
});
