import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as sns from 'aws-cdk-lib/aws-sns';
import { Construct } from 'constructs';
import { scheduleIntervalSeconds, type ClusterConfig } from '../../functions/shared/domain/config';
import { alarmWindow, noSuccessAlarm } from './no-success-alarm';

/**
 * The window of "no success in 2 × interval" (see alarmWindow): up to an interval of 3.5 days
 * that is period = interval, 2 periods; longer intervals watch the last 7 days in 1-day periods.
 */
export function backupAlarmWindow(intervalSeconds: number): {
  periodSeconds: number;
  evaluationPeriods: number;
} {
  return alarmWindow(2 * intervalSeconds);
}

/** "no successful etcd backup in 2 × the schedule interval" for one cluster */
export class BackupAlarm extends Construct {
  readonly alarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: { cluster: ClusterConfig; topic: sns.ITopic }) {
    super(scope, id);
    this.alarm = noSuccessAlarm(this, 'Alarm', {
      cluster: props.cluster.name,
      workflow: 'etcd-backup',
      // publish-outcome records Succeeded (0/1) per cluster and workflow
      metricName: 'Succeeded',
      windowSeconds: 2 * scheduleIntervalSeconds(props.cluster.backup.schedule),
      what: `No successful etcd backup of cluster ${props.cluster.name}`,
      detail: `schedule ${props.cluster.backup.schedule}`,
      topic: props.topic,
    });
  }
}
