import { type CfnElement, Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { ClusterConfig } from '../../functions/shared/domain/config';
import { probeIntervalMinutes, type HealthAlarm } from '../../functions/shared/domain/health';
import { HEALTH_METRICS, METRICS_NAMESPACE } from '../../functions/shared/domain/metrics';
import { ALARM_PREFIX, caretakerAlarmName, ROUTE_ALARM_TAG } from '../../functions/shared/domain/remediation';
import { CaretakerFunction, type SharedEnvironment } from './caretaker-function';
import type { CommandRunner } from './command-runner';
import { sendToTargetStatements } from './command-runner';

/** `EtcdDbUsedPercent` → `etcd-db-used-percent`: the alarm name of an unrouted health alarm */
export function kebab(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase();
}

/** the name of a cluster's default alarm: its route when one acts on it, else the metric */
export function healthAlarmName(cluster: string, alarm: HealthAlarm): string {
  return caretakerAlarmName(cluster, alarm.route ?? kebab(alarm.metric));
}

/** the metric (or, for the raft term, the leader changes as its DIFF) a default alarm reads */
export function healthAlarmMetric(
  cluster: string,
  alarm: HealthAlarm,
  intervalMinutes: number,
): cloudwatch.IMetric {
  const metric = (period: Duration) =>
    new cloudwatch.Metric({
      namespace: METRICS_NAMESPACE,
      metricName: HEALTH_METRICS[alarm.metric].name,
      dimensionsMap: { cluster },
      statistic: cloudwatch.Stats.MAXIMUM,
      period,
    });
  if (alarm.metric === 'EtcdRaftTerm') {
    // every election adds one to the term: leader changes per hour are the DIFF of its hourly maximum
    return new cloudwatch.MathExpression({
      expression: 'DIFF(term)',
      usingMetrics: { term: metric(Duration.hours(1)) },
      label: 'leader changes per hour',
      period: Duration.hours(1),
    });
  }
  return metric(Duration.minutes(intervalMinutes));
}

export interface HealthAndRemediationProps {
  projectRoot: string;
  shared: SharedEnvironment;
  clusters: ClusterConfig[];
  table: dynamodb.ITable;
  runner: CommandRunner;
  bucket: s3.Bucket;
  topic: sns.ITopic;
  /** the remediate state machine, when a cluster of the stack has remediation on */
  remediate?: sfn.IStateMachine;
}

/**
 * The health probe (one scheduled Lambda per cluster, no workflow), the default alarm on each
 * probe metric, and the edge of remediation: the EventBridge rule on alarm state changes to
 * ALARM that route-alarm turns into remediate executions.
 */
export class HealthAndRemediation extends Construct {
  /** absent when no cluster of the stack is probed (EKS only, or health off) */
  readonly probe?: CaretakerFunction;
  readonly routeAlarm?: CaretakerFunction;
  readonly alarms: cloudwatch.Alarm[] = [];

  constructor(scope: Construct, id: string, props: HealthAndRemediationProps) {
    super(scope, id);
    const common = { projectRoot: props.projectRoot, shared: props.shared };

    const probed = props.clusters.filter((c) => c.health?.enabled && c.etcd);
    const probe = probed.length === 0 ? undefined : this.buildProbe(props);
    this.probe = probe;

    for (const cluster of props.clusters) {
      const health = cluster.health;
      if (!health?.enabled || !cluster.etcd) continue;
      const interval = probeIntervalMinutes(health.schedule);
      new events.Rule(this, `Probe-${cluster.name}`, {
        description: `health probe of cluster ${cluster.name}`,
        schedule: events.Schedule.rate(Duration.minutes(interval)),
        targets: [
          new targets.LambdaFunction(probe!.fn, {
            event: events.RuleTargetInput.fromObject({ cluster: cluster.name }),
            retryAttempts: 0,
          }),
        ],
      });
      for (const a of health.alarms) {
        const alarm = new cloudwatch.Alarm(this, `Alarm-${cluster.name}-${a.metric}`, {
          alarmName: healthAlarmName(cluster.name, a),
          alarmDescription: `${cluster.name}: ${a.what}${a.route ? ` (remediation route ${a.route})` : ''}.`,
          metric: healthAlarmMetric(cluster.name, a, interval),
          threshold: a.threshold,
          evaluationPeriods: a.periods,
          datapointsToAlarm: a.periods,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          treatMissingData: a.missingBreaches
            ? cloudwatch.TreatMissingData.BREACHING
            : cloudwatch.TreatMissingData.NOT_BREACHING,
        });
        alarm.addAlarmAction(new actions.SnsAction(props.topic));
        alarm.addOkAction(new actions.SnsAction(props.topic));
        this.alarms.push(alarm);
      }
    }

    if (props.remediate) {
      const routed = props.clusters.filter((c) => c.remediation?.enabled);
      this.routeAlarm = new CaretakerFunction(this, 'RouteAlarm', {
        name: 'route-alarm',
        ...common,
        environment: {
          CLUSTER_NAMES: JSON.stringify(routed.map((c) => c.name)),
          REMEDIATE_STATE_MACHINE_ARN: props.remediate.stateMachineArn,
        },
      });
      props.remediate.grantStartExecution(this.routeAlarm.role);
      const prefixes = [
        ALARM_PREFIX,
        ...new Set(
          routed.flatMap((c) => c.remediation!.alarms.flatMap((a) => (a.namePrefix ? [a.namePrefix] : []))),
        ),
      ];
      new events.Rule(this, 'AlarmStateChange', {
        description: 'alarms that remediation routes, going to ALARM: route-alarm starts their runbook',
        eventPattern: {
          source: ['aws.cloudwatch'],
          detailType: ['CloudWatch Alarm State Change'],
          detail: {
            state: { value: ['ALARM'] },
            $or: [
              { alarmName: prefixes.map((prefix) => ({ prefix })) },
              { alarmTags: { [ROUTE_ALARM_TAG]: [{ exists: true }] } },
              ...routed.flatMap((c) =>
                c.remediation!.alarms.flatMap((a) =>
                  a.tag ? [{ alarmTags: { [a.tag.key]: [a.tag.value] } }] : [],
                ),
              ),
            ],
          },
        },
        targets: [new targets.LambdaFunction(this.routeAlarm.fn, { retryAttempts: 2 })],
      });
      this.routeAlarm.keepFailedEvents();
    }
  }

  private buildProbe(props: HealthAndRemediationProps): CaretakerFunction {
    const stack = Stack.of(this);
    const common = { projectRoot: props.projectRoot, shared: props.shared };
    const fn = new CaretakerFunction(this, 'HealthProbe', {
      name: 'health-probe',
      ...common,
      timeout: Duration.seconds(90),
      environment: {
        DOCUMENTS: JSON.stringify(props.runner.documents.names),
        SNAPSHOT_BUCKET: props.bucket.bucketName,
      },
      resourceStarReason:
        'ec2:DescribeInstances, ssm:DescribeInstanceInformation and ssm:GetCommandInvocation have no resource-level permissions',
    });
    fn.allow({
      actions: ['ec2:DescribeInstances', 'ssm:DescribeInstanceInformation', 'ssm:GetCommandInvocation'],
      resources: ['*'],
    });
    const probeDocument = props.runner.documents.names['health-probe'];
    if (probeDocument) {
      fn.allow({
        sid: 'SendTheProbeDocument',
        actions: ['ssm:SendCommand'],
        resources: [stack.formatArn({ service: 'ssm', resource: 'document', resourceName: probeDocument })],
      });
    }
    const instances = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' });
    for (const statement of sendToTargetStatements(props.clusters, instances).filter((s) =>
      s.sid?.startsWith('SendHealthProbe'),
    )) {
      fn.allow(statement);
    }
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${stack.region}:<AWS::AccountId>:instance/*]`,
      reason:
        'instances come and go; ssm:SendCommand on instances is limited by ssm:resourceTag conditions to the control-plane nodes of configured clusters',
    });
    fn.allow({
      actions: ['s3:ListBucket'],
      resources: [
        stack.formatArn({ service: 's3', region: '', account: '', resource: props.bucket.bucketName }),
      ],
    });
    fn.allow({
      actions: ['s3:GetObject'],
      resources: [
        stack.formatArn({
          service: 's3',
          region: '',
          account: '',
          resource: props.bucket.bucketName,
          resourceName: '*/etcd/*.verification.json',
        }),
        // kops with backup.source etcd-manager: Caretaker's verdicts on etcd-manager's backups
        stack.formatArn({
          service: 's3',
          region: '',
          account: '',
          resource: props.bucket.bucketName,
          resourceName: '*/etcd-manager/main/*.verification.json',
        }),
      ],
    });
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<${stack.getLogicalId(props.bucket.node.defaultChild as CfnElement)}>/*/etcd/*.verification.json]`,
      reason:
        'the probe reads only the verification reports (*.verification.json), of every configured cluster',
    });
    Validations.of(fn.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:s3:::<${stack.getLogicalId(props.bucket.node.defaultChild as CfnElement)}>/*/etcd-manager/main/*.verification.json]`,
      reason:
        "the probe reads only Caretaker's verdicts on etcd-manager's backups (*.verification.json), of every configured kops cluster",
    });

    return fn;
  }
}
