import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { ClusterConfig } from '../../functions/shared/domain/config';
import { probeIntervalMinutes } from '../../functions/shared/domain/health';
import {
  HEALTH_METRICS,
  METRICS_NAMESPACE,
  type HealthMetricName,
} from '../../functions/shared/domain/metrics';
import type { CaretakerFunction } from './caretaker-function';

export interface DashboardProps {
  clusters: ClusterConfig[];
  /** workflow name → state machine: running operations and failures come from AWS/States (free) */
  stateMachines: Record<string, sfn.IStateMachine>;
  alarms: cloudwatch.IAlarm[];
  /** the functions whose EMF lines carry the look-only figures (snapshot size, RTO) */
  figureLogs: CaretakerFunction[];
}

/**
 * One dashboard per deployment: a row per cluster (snapshot age and verified age, DB size
 * against the quota, members unhealthy, API servers and Nodes not ready, snapshot size and RTO
 * from the log fields), then the workflows (running, failed; AWS/States metrics cost nothing)
 * and every Caretaker alarm. Days since each worker was patched are not on it: no patching
 * metric exists in this deployment yet.
 */
export class Dashboard extends Construct {
  readonly dashboard: cloudwatch.Dashboard;

  constructor(scope: Construct, id: string, props: DashboardProps) {
    super(scope, id);
    this.dashboard = new cloudwatch.Dashboard(this, 'Dashboard', {
      dashboardName: Stack.of(this).stackName,
      defaultInterval: Duration.days(1),
    });
    for (const cluster of props.clusters) {
      if (!cluster.health?.enabled || !cluster.etcd) continue;
      const period = Duration.minutes(probeIntervalMinutes(cluster.health.schedule));
      const m = (name: HealthMetricName, label: string) =>
        new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: HEALTH_METRICS[name].name,
          dimensionsMap: { cluster: cluster.name },
          statistic: cloudwatch.Stats.MAXIMUM,
          period,
          label,
        });
      const graph = (
        title: string,
        left: cloudwatch.IMetric[],
        extra: Partial<cloudwatch.GraphWidgetProps> = {},
      ) =>
        new cloudwatch.GraphWidget({
          title: `${cluster.name}: ${title}`,
          left,
          width: 6,
          height: 6,
          ...extra,
        });
      this.dashboard.addWidgets(
        new cloudwatch.TextWidget({
          markdown: `## ${cluster.name} (${cluster.kind}, ${cluster.region})`,
          width: 24,
          height: 1,
        }),
      );
      this.dashboard.addWidgets(
        graph('snapshot age (s)', [
          m('SnapshotAgeSeconds', 'newest'),
          m('VerifiedSnapshotAgeSeconds', 'newest verified'),
        ]),
        graph('etcd DB size, % of quota', [m('EtcdDbUsedPercent', 'largest member')], {
          leftYAxis: { min: 0, max: 100 },
          leftAnnotations: [
            { value: 80, label: 'alarm', color: cloudwatch.Color.ORANGE },
            { value: 100, label: 'quota (NOSPACE)', color: cloudwatch.Color.RED },
          ],
        }),
        graph('etcd members unhealthy, alarms raised', [
          m('EtcdMembersUnhealthy', 'members unhealthy'),
          m('EtcdAlarmsRaised', 'etcd alarms'),
        ]),
        graph('not ready', [m('ApiServersNotReady', 'API servers'), m('NodesNotReady', 'Nodes')]),
      );
      this.dashboard.addWidgets(
        new cloudwatch.GraphWidget({
          title: `${cluster.name}: leader changes per hour`,
          left: [
            new cloudwatch.MathExpression({
              expression: 'DIFF(term)',
              usingMetrics: { term: m('EtcdRaftTerm', 'raft term') },
              label: 'leader changes',
              period: Duration.hours(1),
            }),
          ],
          width: 6,
          height: 6,
        }),
        new cloudwatch.LogQueryWidget({
          title: `${cluster.name}: snapshot size, last verification and its RTO (log fields)`,
          logGroupNames: props.figureLogs.map((f) => f.logGroup.logGroupName),
          queryLines: [
            'fields @timestamp, workflow, SnapshotBytes, Verified, RestoreSeconds',
            `filter cluster = '${cluster.name}' and (ispresent(SnapshotBytes) or ispresent(RestoreSeconds))`,
            'sort @timestamp desc',
            'limit 20',
          ],
          view: cloudwatch.LogQueryVisualizationType.TABLE,
          width: 18,
          height: 6,
        }),
      );
    }
    const workflows = Object.entries(props.stateMachines);
    const states = (metricName: string, sm: sfn.IStateMachine, label: string) =>
      new cloudwatch.Metric({
        namespace: 'AWS/States',
        metricName,
        dimensionsMap: { StateMachineArn: sm.stateMachineArn },
        statistic: cloudwatch.Stats.SUM,
        period: Duration.hours(1),
        label,
      });
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'operations started per workflow (running = started - ended)',
        left: workflows.map(([name, sm]) => states('ExecutionsStarted', sm, name)),
        width: 12,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'failures per workflow (failed, timed out, aborted)',
        left: workflows.flatMap(([name, sm]) => [
          states('ExecutionsFailed', sm, `${name} failed`),
          states('ExecutionsTimedOut', sm, `${name} timed out`),
        ]),
        width: 12,
        height: 6,
      }),
    );
    if (props.alarms.length > 0) {
      this.dashboard.addWidgets(
        new cloudwatch.AlarmStatusWidget({
          title: 'Caretaker alarms',
          alarms: props.alarms,
          width: 24,
          height: 4,
        }),
      );
    }
  }
}
