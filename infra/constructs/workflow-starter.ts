import { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as scheduler from 'aws-cdk-lib/aws-scheduler';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import type { ClusterConfig } from '../../functions/shared/domain/config';
import { CaretakerFunction, type SharedEnvironment } from './caretaker-function';
import { deadLetterQueue } from './dead-letters';

export interface WorkflowStarterProps {
  projectRoot: string;
  shared: SharedEnvironment;
  /** workflow name (etcd-backup) → its state machine */
  stateMachines: Record<string, sfn.IStateMachine>;
}

/**
 * start-workflow and the per-cluster EventBridge Scheduler schedules that call it. The
 * execution name is derived from the scheduled time, so a repeated delivery is harmless.
 */
export class WorkflowStarter extends Construct {
  readonly startWorkflow: CaretakerFunction;
  readonly schedulerRole: iam.Role;
  readonly deadLetters: sqs.Queue;
  readonly schedules: Record<string, scheduler.CfnSchedule> = {};

  constructor(scope: Construct, id: string, props: WorkflowStarterProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const arns = Object.fromEntries(
      Object.entries(props.stateMachines).map(([k, sm]) => [k, sm.stateMachineArn]),
    );
    this.startWorkflow = new CaretakerFunction(this, 'StartWorkflow', {
      name: 'start-workflow',
      projectRoot: props.projectRoot,
      shared: props.shared,
      environment: { STATE_MACHINES: JSON.stringify(arns) },
    });
    this.startWorkflow.allow({ actions: ['states:StartExecution'], resources: Object.values(arns) });

    this.deadLetters = deadLetterQueue(
      this,
      'DeadLetters',
      'the schedule deliveries EventBridge Scheduler could not make to start-workflow',
    );

    this.schedulerRole = new iam.Role(this, 'SchedulerRole', {
      assumedBy: new iam.ServicePrincipal('scheduler.amazonaws.com', {
        conditions: { StringEquals: { 'aws:SourceAccount': stack.account } },
      }),
      description: 'EventBridge Scheduler: invoke start-workflow for Caretaker schedules',
    });
    this.schedulerRole.addToPolicy(
      new iam.PolicyStatement({
        actions: ['lambda:InvokeFunction'],
        resources: [this.startWorkflow.fn.functionArn],
      }),
    );
    this.schedulerRole.addToPolicy(
      new iam.PolicyStatement({ actions: ['sqs:SendMessage'], resources: [this.deadLetters.queueArn] }),
    );
  }

  /** a time-zone aware schedule that starts `workflow` for `cluster` */
  schedule(
    cluster: ClusterConfig,
    workflow: string,
    expression: string,
    timeZone: string,
  ): scheduler.CfnSchedule {
    const id = `${cluster.name}-${workflow}`;
    const schedule = new scheduler.CfnSchedule(this, id, {
      description: `Caretaker ${workflow} for cluster ${cluster.name}`,
      scheduleExpression: expression,
      scheduleExpressionTimezone: timeZone,
      // deterministic execution names rely on the exact scheduled time
      flexibleTimeWindow: { mode: 'OFF' },
      target: {
        arn: this.startWorkflow.fn.functionArn,
        roleArn: this.schedulerRole.roleArn,
        input: JSON.stringify({
          cluster: cluster.name,
          workflow,
          scheduledTime: scheduler.ContextAttribute.scheduledTime,
        }),
        retryPolicy: { maximumRetryAttempts: 10, maximumEventAgeInSeconds: 3600 },
        deadLetterConfig: { arn: this.deadLetters.queueArn },
      },
    });
    this.schedules[id] = schedule;
    return schedule;
  }
}
