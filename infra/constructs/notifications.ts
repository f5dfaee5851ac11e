import { RemovalPolicy, Stack } from 'aws-cdk-lib';
import type * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import { Construct } from 'constructs';
import { CaretakerFunction, type SharedEnvironment } from './caretaker-function';

export interface NotificationsProps {
  projectRoot: string;
  shared: SharedEnvironment;
  emails: string[];
}

/** every workflow ends here: the outcome topic (KMS, TLS-only) and publish-outcome */
export class Notifications extends Construct {
  readonly topic: sns.Topic;
  readonly key: kms.Key;
  readonly publishOutcome: CaretakerFunction;

  constructor(scope: Construct, id: string, props: NotificationsProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'Caretaker notifications topic',
      enableKeyRotation: true,
      removalPolicy: RemovalPolicy.DESTROY,
    });
    // CloudWatch alarms publish to the encrypted topic with their own service principal
    this.key.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCloudWatchAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
      }),
    );
    this.topic = new sns.Topic(this, 'Outcomes', {
      displayName: 'Caretaker',
      masterKey: this.key,
      enforceSSL: true,
    });
    for (const email of props.emails) this.topic.addSubscription(new subscriptions.EmailSubscription(email));

    this.publishOutcome = new CaretakerFunction(this, 'PublishOutcome', {
      name: 'publish-outcome',
      projectRoot: props.projectRoot,
      shared: props.shared,
      environment: { TOPIC_ARN: this.topic.topicArn },
    });
    this.publishOutcome.allow({ actions: ['sns:Publish'], resources: [this.topic.topicArn] });
    this.publishOutcome.allow({
      actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
      resources: [this.key.keyArn],
    });
  }

  /**
   * Lets these alarms publish their state changes to the topic. `enforceSSL` gives the topic a
   * policy of its own, which replaces SNS's default one: without this statement no alarm can
   * notify anyone. Confused-deputy safe: this account, and only these alarms' ARNs.
   */
  allowAlarmsToPublish(alarms: cloudwatch.IAlarm[]): void {
    if (alarms.length === 0) return;
    this.topic.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'AllowCaretakerAlarmsToPublish',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['sns:Publish'],
        resources: [this.topic.topicArn],
        conditions: {
          StringEquals: { 'aws:SourceAccount': Stack.of(this).account },
          ArnEquals: { 'aws:SourceArn': alarms.map((a) => a.alarmArn) },
        },
      }),
    );
  }
}
