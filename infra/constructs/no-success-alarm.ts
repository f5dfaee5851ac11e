import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import type { Construct } from 'constructs';

const HOUR = 3600;
const DAY = 86_400;

/**
 * How to watch "nothing in the last `windowSeconds`" within CloudWatch's limits: the period
 * is a multiple of 60 s, and period × evaluationPeriods may not exceed 1 day when the period
 * is under an hour, 7 days otherwise (PutMetricAlarm). Up to a window of 7 days that is simply
 * two periods of half the window. Longer windows use 1-day periods, as many as fit in the
 * window, capped at 7 (the 7-day limit): for windows over 7 days the alarm watches the last
 * 7 days, so it fires earlier than asked, never later.
 */
export function alarmWindow(windowSeconds: number): { periodSeconds: number; evaluationPeriods: number } {
  const period = Math.max(60, Math.round(windowSeconds / 2 / 60) * 60);
  const limit = period < HOUR ? DAY : 7 * DAY;
  if (2 * period <= limit) return { periodSeconds: period, evaluationPeriods: 2 };
  return { periodSeconds: DAY, evaluationPeriods: Math.min(7, Math.ceil(windowSeconds / DAY)) };
}

export interface NoSuccessAlarmProps {
  cluster: string;
  workflow: string;
  /** a 0/1 metric in namespace Caretaker with dimensions {cluster, workflow}, e.g. Succeeded */
  metricName: string;
  /** alarm when the metric summed to less than 1 over this many seconds */
  windowSeconds: number;
  /** what did not happen, e.g. "No successful etcd backup of cluster prod-eu" */
  what: string;
  /** appended to the description in parentheses, e.g. the schedule */
  detail: string;
  topic: sns.ITopic;
}

/**
 * "No success in the window" for one cluster and workflow: Sum < 1 in every evaluated period,
 * missing data breaching (no data at all is exactly the failure), alarm and OK to the topic.
 */
export function noSuccessAlarm(scope: Construct, id: string, props: NoSuccessAlarmProps): cloudwatch.Alarm {
  const { periodSeconds, evaluationPeriods } = alarmWindow(props.windowSeconds);
  const metric = new cloudwatch.Metric({
    namespace: 'Caretaker',
    metricName: props.metricName,
    dimensionsMap: { cluster: props.cluster, workflow: props.workflow },
    statistic: cloudwatch.Stats.SUM,
    period: Duration.seconds(periodSeconds),
  });
  const alarm = new cloudwatch.Alarm(scope, id, {
    alarmDescription: `${props.what} in ${evaluationPeriods} × ${periodSeconds} s (${props.detail}).`,
    metric,
    comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
    threshold: 1,
    evaluationPeriods,
    datapointsToAlarm: evaluationPeriods,
    // no data at all is exactly the failure this alarm exists for
    treatMissingData: cloudwatch.TreatMissingData.BREACHING,
  });
  alarm.addAlarmAction(new actions.SnsAction(props.topic));
  alarm.addOkAction(new actions.SnsAction(props.topic));
  return alarm;
}
