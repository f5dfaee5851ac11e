import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { RECONCILE_INTERVAL_SECONDS } from '../../functions/shared/domain/commands';
import { CLUSTER_TAG } from '../../functions/shared/domain/config';
import { CaretakerFunction, type SharedEnvironment } from './caretaker-function';
import { CommandDocuments } from './command-documents';
import { deadLetterQueue } from './dead-letters';

export interface CommandRunnerProps {
  projectRoot: string;
  documentsDirectory: string;
  shared: SharedEnvironment;
  table: dynamodb.ITable;
  bucketName: string;
  clusterNames: string[];
}

/** the SSM statuses after which an invocation will not change any more */
const PENDING_STATUSES = ['Pending', 'InProgress', 'Delayed', 'Cancelling'];

/**
 * Talking to nodes: send-command (a .waitForTaskToken task) stores commandId → task token;
 * an EventBridge rule on SSM's status-change event runs complete-command; a reconciler every
 * five minutes completes whatever the best-effort events missed.
 */
export class CommandRunner extends Construct {
  readonly documents: CommandDocuments;
  readonly sendCommand: CaretakerFunction;
  readonly completeCommand: CaretakerFunction;
  readonly reconcileCommands: CaretakerFunction;
  readonly deadLetters: sqs.Queue;

  constructor(scope: Construct, id: string, props: CommandRunnerProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.documents = new CommandDocuments(this, 'Documents', { directory: props.documentsDirectory });

    this.sendCommand = new CaretakerFunction(this, 'SendCommand', {
      name: 'send-command',
      projectRoot: props.projectRoot,
      shared: props.shared,
      environment: { DOCUMENTS: JSON.stringify(this.documents.names), SNAPSHOT_BUCKET: props.bucketName },
      resourceStarReason:
        'ec2:DescribeInstances, ssm:DescribeInstanceInformation and ssm:ListCommands have no resource-level permissions (read-only list calls)',
    });
    // before sending, it checks the target is still a live, SSM-online node of the right kind
    this.sendCommand.allow({
      actions: ['ec2:DescribeInstances', 'ssm:DescribeInstanceInformation'],
      resources: ['*'],
    });
    // the intent (conditional put, read back where the failed write returns nothing, then the
    // commandId) and the parked token; ListCommands finds a send whose commandId was not recorded
    this.sendCommand.allow({
      actions: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem'],
      resources: [props.table.tableArn],
    });
    this.sendCommand.allow({ actions: ['ssm:ListCommands'], resources: ['*'] });
    // our documents only: never AWS-RunShellScript
    this.sendCommand.allow({
      sid: 'SendOurDocuments',
      actions: ['ssm:SendCommand'],
      resources: this.documents.arns,
    });
    // and only to instances tagged as one of our clusters; separate statement so the tag
    // condition does not apply to the document resource (documents carry no cluster tag)
    const instances = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' });
    this.sendCommand.allow({
      sid: 'SendToClusterInstances',
      actions: ['ssm:SendCommand'],
      resources: [instances],
      conditions: { StringEquals: { [`ssm:resourceTag/${CLUSTER_TAG}`]: props.clusterNames } },
    });
    Validations.of(this.sendCommand.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${stack.region}:<AWS::AccountId>:instance/*]`,
      reason: `instances come and go; ssm:SendCommand on instances is limited by the condition ssm:resourceTag/${CLUSTER_TAG} = the configured cluster names`,
    });

    this.completeCommand = new CaretakerFunction(this, 'CompleteCommand', {
      name: 'complete-command',
      projectRoot: props.projectRoot,
      shared: props.shared,
      resourceStarReason: 'ssm:GetCommandInvocation has no resource-level permissions',
    });
    // take = DeleteItem with ReturnValues ALL_OLD (dynamo-command-token-store.ts)
    this.completeCommand.allow({
      actions: ['dynamodb:DeleteItem'],
      resources: [props.table.tableArn],
    });
    this.completeCommand.allow({ actions: ['ssm:GetCommandInvocation'], resources: ['*'] });

    this.reconcileCommands = new CaretakerFunction(this, 'ReconcileCommands', {
      name: 'reconcile-commands',
      projectRoot: props.projectRoot,
      shared: props.shared,
      timeout: Duration.minutes(2),
      resourceStarReason: 'ssm:GetCommandInvocation has no resource-level permissions',
    });
    this.reconcileCommands.allow({
      actions: ['dynamodb:Scan', 'dynamodb:DeleteItem'],
      resources: [props.table.tableArn],
    });
    this.reconcileCommands.allow({ actions: ['ssm:GetCommandInvocation'], resources: ['*'] });

    this.deadLetters = deadLetterQueue(
      this,
      'DeadLetters',
      'the events EventBridge could not deliver to complete-command and reconcile-commands',
    );

    const target = (fn: CaretakerFunction) =>
      new targets.LambdaFunction(fn.fn, {
        deadLetterQueue: this.deadLetters,
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
      });
    new events.Rule(this, 'InvocationFinished', {
      description: 'a Caretaker SSM command invocation reached a final status',
      eventPattern: {
        source: ['aws.ssm'],
        detailType: ['EC2 Command Invocation Status-change Notification'],
        detail: {
          'document-name': Object.values(this.documents.names),
          status: events.Match.anythingBut(...PENDING_STATUSES),
        },
      },
      targets: [target(this.completeCommand)],
    });
    // SSM events are best effort: finish whatever never got one
    new events.Rule(this, 'Reconcile', {
      description: 'completes Caretaker command invocations whose status event never came',
      // the commands' Task timeouts count on this interval (domain/commands/spec.ts)
      schedule: events.Schedule.rate(Duration.seconds(RECONCILE_INTERVAL_SECONDS)),
      targets: [target(this.reconcileCommands)],
    });
  }

  /** complete-command and reconcile-commands may answer the task tokens of these workflows */
  allowTaskCallbacks(stateMachines: sfn.IStateMachine[]): void {
    for (const fn of [this.completeCommand, this.reconcileCommands]) {
      fn.allow({
        actions: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
        resources: stateMachines.map((sm) => sm.stateMachineArn),
      });
    }
  }
}
