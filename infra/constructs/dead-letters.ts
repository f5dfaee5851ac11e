import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

/**
 * A dead-letter queue: encrypted (SQS-managed keys), TLS only, messages kept 14 days. `holds`
 * says what lands in it, for the acknowledgement and the alarm.
 */
export function deadLetterQueue(scope: Construct, id: string, holds: string): sqs.Queue {
  const queue = new sqs.Queue(scope, id, {
    encryption: sqs.QueueEncryption.SQS_MANAGED,
    enforceSSL: true,
    retentionPeriod: Duration.days(14),
  });
  Validations.of(queue).acknowledge({
    id: 'AwsSolutions-SQS3',
    reason: `this queue is itself a dead-letter queue: it holds ${holds}`,
  });
  return queue;
}

/**
 * "Something is in a dead-letter queue": any visible message alarms (and the empty queue says
 * OK) to the topic, so a lost event is seen within minutes instead of never.
 */
export function deadLetterAlarm(queue: sqs.Queue, topic: sns.ITopic): cloudwatch.Alarm {
  const alarm = new cloudwatch.Alarm(queue, 'NotEmpty', {
    alarmDescription: `Messages are waiting in the dead-letter queue ${queue.node.path}: events that failed after every retry. Read them, fix the cause, then purge the queue.`,
    metric: queue.metricApproximateNumberOfMessagesVisible({
      period: Duration.minutes(5),
      statistic: cloudwatch.Stats.MAXIMUM,
    }),
    comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
    threshold: 0,
    evaluationPeriods: 1,
    treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
  });
  alarm.addAlarmAction(new actions.SnsAction(topic));
  alarm.addOkAction(new actions.SnsAction(topic));
  return alarm;
}
