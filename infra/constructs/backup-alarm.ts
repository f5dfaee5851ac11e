import { Duration } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { scheduleIntervalSeconds, type ClusterConfig } from '../../functions/shared/domain/config';

const HOUR = 3600;
const DAY = 86_400;

/**
 * How to watch "no success in 2 × interval" within CloudWatch's limits: the period is a
 * multiple of 60 s, and period × evaluationPeriods may not exceed 1 day when the period is
 * under an hour, 7 days otherwise (PutMetricAlarm). Up to an interval of 3.5 days that is
 * simply period = interval, 2 periods. Longer intervals use 1-day periods, as many as fit in
 * 2 × interval, capped at 7 (the 7-day limit): for intervals over 3.5 days the alarm watches
 * the last 7 days rather than 2 intervals.
 */
export function backupAlarmWindow(intervalSeconds: number): {
  periodSeconds: number;
  evaluationPeriods: number;
} {
  const period = Math.max(60, Math.round(intervalSeconds / 60) * 60);
  const limit = period < HOUR ? DAY : 7 * DAY;
  if (2 * period <= limit) return { periodSeconds: period, evaluationPeriods: 2 };
  return { periodSeconds: DAY, evaluationPeriods: Math.min(7, Math.ceil((2 * intervalSeconds) / DAY)) };
}

/** "no successful etcd backup in 2 × the schedule interval" for one cluster */
export class BackupAlarm extends Construct {
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: { cluster: ClusterConfig; topic: sns.ITopic }) {
    super(scope, id);
    const interval = scheduleIntervalSeconds(props.cluster.backup.schedule);
    const { periodSeconds, evaluationPeriods } = backupAlarmWindow(interval);
    const metric = new cloudwatch.Metric({
      namespace: 'Caretaker',
      // publish-outcome records Succeeded (0/1) per cluster and workflow
      metricName: 'Succeeded',
      dimensionsMap: { cluster: props.cluster.name, workflow: 'etcd-backup' },
      statistic: cloudwatch.Stats.SUM,
      period: Duration.seconds(periodSeconds),
    });
    this.alarm = new cloudwatch.Alarm(this, 'Alarm', {
      alarmDescription:
        `No successful etcd backup of cluster ${props.cluster.name} in ${evaluationPeriods} × ${periodSeconds} s ` +
        `(schedule ${props.cluster.backup.schedule}).`,
      metric,
      comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
      threshold: 1,
      evaluationPeriods,
      datapointsToAlarm: evaluationPeriods,
      // no data at all is exactly the failure this alarm exists for
      treatMissingData: cloudwatch.TreatMissingData.BREACHING,
    });
    this.alarm.addAlarmAction(new actions.SnsAction(props.topic));
    this.alarm.addOkAction(new actions.SnsAction(props.topic));
  }
}
