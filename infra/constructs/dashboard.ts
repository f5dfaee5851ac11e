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
  /** the health probe: its log line carries the days since each worker was patched */
  probeLogs?: CaretakerFunction;
  /** record-patch: one EMF line per patched worker (node, when, packages) */
  patchLogs?: CaretakerFunction[];
}

/**
 * One dashboard per deployment: rows per cluster (snapshot age and verified age, DB size
 * against the quota, members unhealthy, API servers and Nodes not ready, leader changes,
 * snapshot size and RTO from the log fields, days since each worker was patched from the
 * probe's newest log line and each worker's last patch from record-patch's), then the
 * workflows (running, started, failed; AWS/States metrics cost nothing) and every Caretaker
 * alarm. Per-node figures are Logs Insights widgets over log fields: a metric per node would
 * cost $0.30 a node-month. docs/dashboard.md is the picture of this layout
 * (`npx tsx tools/dashboard-diagram.ts` writes it; a test fails when it drifts).
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
      const patchWidgets: cloudwatch.IWidget[] = [];
      // the probe reads the workers' patch times only where it has a kubeconfig
      if (props.probeLogs && cluster.kubernetes) {
        patchWidgets.push(
          new cloudwatch.LogQueryWidget({
            title: `${cluster.name}: days since each worker was patched (newest probe)`,
            logGroupNames: [props.probeLogs.logGroup.logGroupName],
            queryLines: [
              'fields @timestamp, oldestWorkerPatchDays, workersNeverPatched, workerPatchDays',
              `filter cluster = '${cluster.name}' and ispresent(workerPatchDays)`,
              'sort @timestamp desc',
              'limit 1',
            ],
            view: cloudwatch.LogQueryVisualizationType.TABLE,
            width: 12,
            height: 6,
          }),
        );
      }
      if (cluster.patching && props.patchLogs && props.patchLogs.length > 0) {
        patchWidgets.push(
          new cloudwatch.LogQueryWidget({
            title: `${cluster.name}: last patch of each worker (record-patch)`,
            logGroupNames: props.patchLogs.map((f) => f.logGroup.logGroupName),
            queryLines: [
              `filter cluster = '${cluster.name}' and workflow = 'patch-workers' and ispresent(NodePatchSeconds)`,
              'stats latest(@timestamp) as lastPatched, latest(PackagesChanged) as packages, latest(NodeRebooted) as rebooted by node, instanceId',
              'sort lastPatched asc',
            ],
            view: cloudwatch.LogQueryVisualizationType.TABLE,
            width: 12,
            height: 6,
          }),
        );
      }
      if (patchWidgets.length > 0) this.dashboard.addWidgets(...patchWidgets);
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
    // AWS/States has no "running" metric: started minus ended, summed over the dashboard's range
    // (an execution that started before the range and ends in it counts -1, so it is a floor)
    const ENDED = ['ExecutionsSucceeded', 'ExecutionsFailed', 'ExecutionsAborted', 'ExecutionsTimedOut'];
    this.dashboard.addWidgets(
      new cloudwatch.GraphWidget({
        title: 'operations running per workflow (started - ended, over the range)',
        left: workflows.map(
          ([name, sm], i) =>
            new cloudwatch.MathExpression({
              expression: `RUNNING_SUM(FILL(started${i}, 0) - ${ENDED.map((_, j) => `FILL(ended${i}x${j}, 0)`).join(' - ')})`,
              usingMetrics: {
                [`started${i}`]: states('ExecutionsStarted', sm, `${name} started`),
                ...Object.fromEntries(ENDED.map((e, j) => [`ended${i}x${j}`, states(e, sm, `${name} ${e}`)])),
              },
              label: name,
              period: Duration.hours(1),
            }),
        ),
        width: 8,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'operations started per workflow',
        left: workflows.map(([name, sm]) => states('ExecutionsStarted', sm, name)),
        width: 8,
        height: 6,
      }),
      new cloudwatch.GraphWidget({
        title: 'failures per workflow (failed, timed out, aborted)',
        left: workflows.flatMap(([name, sm]) => [
          states('ExecutionsFailed', sm, `${name} failed`),
          states('ExecutionsTimedOut', sm, `${name} timed out`),
          states('ExecutionsAborted', sm, `${name} aborted`),
        ]),
        width: 8,
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
