import { CfnOutput, Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { ClusterConfig, CaretakerConfig } from '../../functions/shared/domain/config';
import { CaretakerFunction, type SharedEnvironment } from './caretaker-function';

/** the table items approval gates and Slack requests use (approval#, approval-execution#, request#) */
const TABLE_ACTIONS = ['dynamodb:GetItem', 'dynamodb:PutItem', 'dynamodb:UpdateItem'];

export interface ApprovalsProps {
  projectRoot: string;
  shared: SharedEnvironment;
  table: dynamodb.ITable;
  topic: sns.ITopic;
  topicKey: kms.IKey;
  /** the Slack app's secret, when the configuration has a slack block */
  slackSecret?: secretsmanager.ISecret;
  /** cluster → its Slack channel (the approval messages' channel) */
  slackChannels?: Record<string, string>;
}

/**
 * Approval gates: request-approval records the gate (its task token) in the operations table
 * and asks on the outcomes topic, and in Slack when the Slack app is configured.
 */
export class Approvals extends Construct {
  readonly requestApproval: CaretakerFunction;

  constructor(scope: Construct, id: string, props: ApprovalsProps) {
    super(scope, id);
    this.requestApproval = new CaretakerFunction(this, 'RequestApproval', {
      name: 'request-approval',
      projectRoot: props.projectRoot,
      shared: props.shared,
      environment: {
        TOPIC_ARN: props.topic.topicArn,
        ...(props.slackSecret && {
          SLACK_SECRET_ARN: props.slackSecret.secretArn,
          SLACK_CHANNELS_BY_CLUSTER: JSON.stringify(props.slackChannels ?? {}),
        }),
      },
    });
    const fn = this.requestApproval;
    fn.allow({ actions: TABLE_ACTIONS, resources: [props.table.tableArn] });
    fn.allow({ actions: ['sns:Publish'], resources: [props.topic.topicArn] });
    fn.allow({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [props.topicKey.keyArn] });
    if (props.slackSecret)
      fn.allow({ actions: ['secretsmanager:GetSecretValue'], resources: [props.slackSecret.secretArn] });
  }
}

/** cluster → its `slack.channel`, for the functions that only post (no SSM read for that) */
export function slackChannels(clusters: readonly ClusterConfig[]): Record<string, string> {
  return Object.fromEntries(clusters.flatMap((c) => (c.slack?.channel ? [[c.name, c.slack.channel]] : [])));
}

/** the Slack secret: created by the stack with a random placeholder, filled in by the operator (README) */
export function slackSecret(scope: Construct): secretsmanager.Secret {
  const secret = new secretsmanager.Secret(scope, 'SlackSecret', {
    description:
      'Caretaker Slack app: {"signingSecret": "<Basic Information → Signing Secret>", "botToken": "xoxb-<OAuth & Permissions → Bot User OAuth Token>"}',
    generateSecretString: {
      secretStringTemplate: JSON.stringify({ botToken: 'xoxb-replace-me' }),
      generateStringKey: 'signingSecret',
      excludePunctuation: true,
    },
    removalPolicy: RemovalPolicy.RETAIN,
  });
  Validations.of(secret).acknowledge({
    id: 'AwsSolutions-SMG4',
    reason:
      'the Slack signing secret and bot token are issued by Slack and rotated there (Basic Information → Regenerate); a Lambda rotator cannot rotate them',
  });
  return secret;
}

export interface SlackReceiverProps {
  projectRoot: string;
  shared: SharedEnvironment;
  slack: NonNullable<CaretakerConfig['slack']>;
  clusters: ClusterConfig[];
  secret: secretsmanager.ISecret;
  table: dynamodb.ITable;
  /** workflow name → its state machine */
  stateMachines: Record<string, sfn.IStateMachine>;
  /** where the "Slack is failing" alarm goes */
  alarmTopic: sns.ITopic;
  /** the publish-outcome function: Block Kit to Slack, the Chatbot topic */
  publishOutcome: CaretakerFunction;
  /** at most this many receivers at once, so a flood cannot exhaust the account's concurrency */
  reservedConcurrency?: number;
}

/**
 * ChatOps: the Slack receiver behind a Lambda function URL (Slack cannot sign SigV4, so the URL
 * is public and every request's v0 signature is checked in code before anything else), with
 * reserved concurrency as its throttle; the Chatbot-format topic; publish-outcome's Slack and
 * Chatbot delivery; and the alarm on Slack deliveries that failed after their retries.
 */
export class SlackReceiver extends Construct {
  readonly receiver: CaretakerFunction;
  readonly url: lambda.FunctionUrl;
  readonly chatbotTopic: sns.Topic;
  readonly chatbotKey: kms.Key;
  readonly failures: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: SlackReceiverProps) {
    super(scope, id);
    const arns = Object.fromEntries(
      Object.entries(props.stateMachines).map(([k, sm]) => [k, sm.stateMachineArn]),
    );
    this.receiver = new CaretakerFunction(this, 'Receiver', {
      name: 'slack-receiver',
      projectRoot: props.projectRoot,
      shared: props.shared,
      memorySize: 512,
      // Slack waits 3 s; anything slower has already lost the answer
      timeout: Duration.seconds(10),
      environment: {
        SLACK_SECRET_ARN: props.secret.secretArn,
        SLACK_TEAM_ID: props.slack.teamId,
        SLACK_CHANNELS: JSON.stringify(props.slack.channels),
        CLUSTERS: JSON.stringify(props.clusters.map((c) => c.name)),
        STATE_MACHINES: JSON.stringify(arns),
      },
    });
    const fn = this.receiver;
    (fn.fn.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions =
      props.reservedConcurrency ?? 5;
    const machines = Object.values(arns);
    fn.allow({ actions: ['secretsmanager:GetSecretValue'], resources: [props.secret.secretArn] });
    fn.allow({ actions: ['states:StartExecution', 'states:ListExecutions'], resources: machines });
    fn.allow({ actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'], resources: machines });
    fn.allow({ actions: TABLE_ACTIONS, resources: [props.table.tableArn] });

    new CfnOutput(this, 'SlackSecretArn', {
      description: 'put {"signingSecret": …, "botToken": "xoxb-…"} here (README, ChatOps in Slack)',
      value: props.secret.secretArn,
    });
    this.url = fn.fn.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    new CfnOutput(this, 'SlackRequestUrl', {
      description:
        "the Slack app's Request URL for the slash command and interactivity (slack-app-manifest.yaml)",
      value: this.url.url,
    });

    // the Chatbot-format outcomes: map this topic to a channel in AWS Chatbot / Amazon Q Developer
    this.chatbotKey = new kms.Key(this, 'ChatbotKey', {
      description: 'Caretaker outcomes for AWS Chatbot',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    this.chatbotKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowChatbotToRead',
        principals: [new iam.ServicePrincipal('chatbot.amazonaws.com')],
        actions: ['kms:Decrypt'],
        resources: ['*'],
      }),
    );
    this.chatbotTopic = new sns.Topic(this, 'ChatbotOutcomes', {
      displayName: 'Caretaker (AWS Chatbot)',
      masterKey: this.chatbotKey,
      enforceSSL: true,
    });
    new CfnOutput(this, 'ChatbotTopicArn', {
      description: 'SNS topic with outcomes in AWS Chatbot custom-notification format',
      value: this.chatbotTopic.topicArn,
    });

    const publish = props.publishOutcome;
    publish.fn.addEnvironment('SLACK_SECRET_ARN', props.secret.secretArn);
    publish.fn.addEnvironment('CHATBOT_TOPIC_ARN', this.chatbotTopic.topicArn);
    publish.fn.addEnvironment('SLACK_CHANNELS_BY_CLUSTER', JSON.stringify(slackChannels(props.clusters)));
    publish.allow({ actions: ['secretsmanager:GetSecretValue'], resources: [props.secret.secretArn] });
    publish.allow({ actions: ['sns:Publish'], resources: [this.chatbotTopic.topicArn] });
    publish.allow({ actions: ['kms:GenerateDataKey', 'kms:Decrypt'], resources: [this.chatbotKey.keyArn] });

    this.failures = new cloudwatch.Alarm(this, 'SlackFailing', {
      alarmDescription:
        "Outcome messages could not be posted to Slack after 3 attempts (SlackNotificationFailed). Workflows are not affected; check the bot token in the Slack secret and Slack's status.",
      metric: new cloudwatch.Metric({
        namespace: 'Caretaker',
        metricName: 'SlackNotificationFailed',
        // Powertools adds the function's service name as a dimension
        dimensionsMap: { service: 'caretaker-publish-outcome', notification: 'slack' },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.minutes(15),
      }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      threshold: 1,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.failures.addAlarmAction(new actions.SnsAction(props.alarmTopic));
    this.failures.addOkAction(new actions.SnsAction(props.alarmTopic));
  }
}
