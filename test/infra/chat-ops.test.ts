import { App, Stack } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { ConfigInput } from '../../functions/shared/domain/config';
import { Approvals, slackSecret } from '../../infra/constructs/chat-ops';
import { buildStacks, CONFIG, ROOT, roleStatements, templateFor } from './build';

const SLACK_CONFIG: ConfigInput = {
  ...CONFIG,
  slack: { teamId: 'T0CARETAKER', channels: ['C0OPS'] },
  clusters: CONFIG.clusters.map((c) =>
    c.name === 'prod-eu'
      ? { ...c, slack: { channel: 'C0PRODEU', allow: { backup: ['U0ALICE'], approve: ['S0SRE'] } } }
      : c,
  ),
};

describe('ChatOps infrastructure', () => {
  const { app, stacks } = buildStacks(SLACK_CONFIG);
  const eu = templateFor(stacks, 'eu-west-1');

  it('serves the receiver on a function URL (Slack cannot sign SigV4) with reserved concurrency as its throttle', () => {
    eu.hasResourceProperties('AWS::Lambda::Url', { AuthType: 'NONE' });
    eu.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Caretaker slack-receiver',
      ReservedConcurrentExecutions: 5,
      Timeout: 10,
    });
  });

  it('gives the receiver the secret by ARN only: no secret value in its environment', () => {
    const [fn] = Object.values(
      eu.findResources('AWS::Lambda::Function', { Properties: { Description: 'Caretaker slack-receiver' } }),
    );
    const env = fn!.Properties.Environment.Variables as Record<string, unknown>;
    expect(Object.keys(env).sort()).toEqual(
      [
        'CARETAKER_TABLE',
        'CLUSTERS',
        'CLUSTER_PARAMETER_PREFIX',
        'NODE_OPTIONS',
        'POWERTOOLS_METRICS_NAMESPACE',
        'POWERTOOLS_SERVICE_NAME',
        'SLACK_CHANNELS',
        'SLACK_SECRET_ARN',
        'SLACK_TEAM_ID',
        'STATE_MACHINES',
      ].sort(),
    );
    expect(env.SLACK_SECRET_ARN).toEqual({ Ref: expect.stringMatching(/^SlackSecret/) });
    expect(JSON.stringify(env)).not.toMatch(/xoxb-|signingSecret/);
  });

  it('grants the receiver only what it does: the secret, start/list/complete on the state machines, the table items', () => {
    const statements = roleStatements(eu, /^SlackReceiverRole/);
    const actions = statements.flatMap((s) => [s.Action].flat()).sort();
    expect(actions).toEqual(
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:GetSecretValue',
        'ssm:GetParameter',
        'states:ListExecutions',
        'states:SendTaskFailure',
        'states:SendTaskSuccess',
        'states:StartExecution',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
    const secret = statements.find((s) => [s.Action].flat().includes('secretsmanager:GetSecretValue'));
    expect(secret!.Resource).toEqual({ Ref: expect.stringMatching(/^SlackSecret/) });
  });

  it('creates the Slack secret with a placeholder the operator replaces, never a value from the config', () => {
    eu.hasResourceProperties('AWS::SecretsManager::Secret', {
      GenerateSecretString: {
        SecretStringTemplate: '{"botToken":"xoxb-replace-me"}',
        GenerateStringKey: 'signingSecret',
      },
    });
  });

  it('lets publish-outcome post to Slack and publish the Chatbot format, and alarms when Slack keeps failing', () => {
    eu.hasResourceProperties('AWS::Lambda::Function', {
      Description: 'Caretaker publish-outcome',
      Environment: {
        Variables: Match.objectLike({
          SLACK_SECRET_ARN: { Ref: Match.stringLikeRegexp('^SlackSecret') },
          CHATBOT_TOPIC_ARN: { Ref: Match.stringLikeRegexp('^SlackChatbotOutcomes') },
          // the channel map: publish-outcome posts without reading the clusters' SSM parameters
          SLACK_CHANNELS_BY_CLUSTER: '{"prod-eu":"C0PRODEU"}',
        }),
      },
    });
    eu.hasResourceProperties('AWS::CloudWatch::Alarm', {
      MetricName: 'SlackNotificationFailed',
      Namespace: 'Caretaker',
      Dimensions: Match.arrayWith([{ Name: 'notification', Value: 'slack' }]),
      Threshold: 1,
    });
    eu.hasResourceProperties('AWS::SNS::Topic', { DisplayName: 'Caretaker (AWS Chatbot)' });
  });

  it('deploys no receiver and no secret without a slack block', () => {
    const plain = templateFor(buildStacks(CONFIG).stacks, 'eu-west-1');
    plain.resourceCountIs('AWS::Lambda::Url', 0);
    plain.resourceCountIs('AWS::SecretsManager::Secret', 0);
  });

  it('reports no unacknowledged cdk-nag finding with ChatOps on', () => {
    app.synth();
    const report = new AwsSolutionsChecks().validateScope(app);
    const findings = report.violations.map(
      (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
  });
});

describe('the approval gate function', () => {
  it('may read and write the table, publish to the topic and read the Slack secret, nothing more', () => {
    const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
    const stack = new Stack(app, 'Gate', { env: { region: 'eu-west-1', account: '123456789012' } });
    const table = new dynamodb.Table(stack, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
    });
    const key = new kms.Key(stack, 'Key');
    const topic = new sns.Topic(stack, 'Topic', { masterKey: key });
    new Approvals(stack, 'Approvals', {
      projectRoot: ROOT,
      shared: { CARETAKER_TABLE: table.tableName, CLUSTER_PARAMETER_PREFIX: '/caretaker/clusters' },
      table,
      topic,
      topicKey: key,
      slackSecret: slackSecret(stack),
    });
    const template = Template.fromStack(stack);

    const actions = roleStatements(template, /^ApprovalsRequestApprovalRole/)
      .flatMap((s) => [s.Action].flat())
      .sort();
    expect(actions).toEqual(
      [
        'dynamodb:GetItem',
        'dynamodb:PutItem',
        'dynamodb:UpdateItem',
        'kms:Decrypt',
        'kms:GenerateDataKey',
        'logs:CreateLogStream',
        'logs:PutLogEvents',
        'secretsmanager:GetSecretValue',
        'sns:Publish',
        'xray:PutTelemetryRecords',
        'xray:PutTraceSegments',
      ].sort(),
    );
  });
});
