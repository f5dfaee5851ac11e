import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import type * as iam from 'aws-cdk-lib/aws-iam';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  COMMAND_NAMES,
  commandSpec,
  RECONCILE_INTERVAL_SECONDS,
  type NodeKind,
} from '../../functions/shared/domain/commands';
import {
  CLUSTER_TAG,
  ROLE_TAG,
  SCRATCH_ROLE,
  type ClusterConfig,
} from '../../functions/shared/domain/config';
import { scratchTags } from '../../functions/shared/domain/scratch';
import { CaretakerFunction, type SharedEnvironment } from './caretaker-function';
import { CommandDocuments } from './command-documents';
import { deadLetterQueue } from './dead-letters';

export interface CommandRunnerProps {
  projectRoot: string;
  documentsDirectory: string;
  shared: SharedEnvironment;
  table: dynamodb.ITable;
  bucketName: string;
  /** every cluster of the stack: their node tags scope ssm:SendCommand */
  clusters: ClusterConfig[];
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
    this.documents = new CommandDocuments(this, 'Documents', {
      directory: props.documentsDirectory,
      bucketName: props.bucketName,
    });

    this.sendCommand = new CaretakerFunction(this, 'SendCommand', {
      name: 'send-command',
      projectRoot: props.projectRoot,
      shared: props.shared,
      environment: {
        DOCUMENTS: JSON.stringify(this.documents.names),
        DOCUMENT_VERSIONS: JSON.stringify(this.documents.versions),
        SNAPSHOT_BUCKET: props.bucketName,
      },
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
    // and only to the nodes each document targets (its catalog entry's `target`), by the tags
    // that make a node one: one statement per document. Separate from the documents' statement,
    // since the tag conditions would fail on the document resource (documents carry no node tags)
    const instances = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' });
    for (const statement of sendToTargetStatements(props.clusters, instances)) {
      this.sendCommand.allow(statement);
    }
    Validations.of(this.sendCommand.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ec2:${stack.region}:<AWS::AccountId>:instance/*]`,
      reason: `instances come and go; ssm:SendCommand on instances is limited, per document, by ssm:resourceTag conditions: ${CLUSTER_TAG} = a configured cluster and the tags of the node kind the document targets (control-plane tags, or ${ROLE_TAG}=${SCRATCH_ROLE})`,
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

/**
 * One ssm:SendCommand statement per catalog command (per set of node tags, when clusters tag
 * their control planes differently): instances of a configured cluster that carry the tags of
 * the node kind the command targets. IAM authorizes a SendCommand's document and instance
 * separately, so these bound which nodes any Caretaker document can reach (never workers for
 * today's documents, never untagged instances); send-command itself checks that the node is a
 * live one of the command's own target kind.
 */
export function sendToTargetStatements(
  clusters: ClusterConfig[],
  instances: string,
): iam.PolicyStatementProps[] {
  const statements: iam.PolicyStatementProps[] = [];
  for (const name of COMMAND_NAMES) {
    const spec = commandSpec(name);
    // clusters whose nodes of this kind carry the same tags (besides the cluster tag) share a statement
    const groups = new Map<string, { tags: [string, string][]; clusters: string[] }>();
    for (const cluster of clusters) {
      if (spec.needs.includes('etcd') && !cluster.etcd) continue;
      for (const tags of nodeTags(cluster, spec.target)) {
        const own = Object.entries(tags)
          .filter(([key]) => key !== CLUSTER_TAG)
          .sort(([a], [b]) => a.localeCompare(b));
        const key = JSON.stringify(own);
        const group = groups.get(key) ?? { tags: own, clusters: [] };
        group.clusters.push(cluster.name);
        groups.set(key, group);
      }
    }
    [...groups.values()].forEach((group, i) => {
      statements.push({
        sid: `Send${pascal(name)}To${pascal(spec.target)}Nodes${groups.size > 1 ? i + 1 : ''}`,
        actions: ['ssm:SendCommand'],
        resources: [instances],
        conditions: {
          StringEquals: {
            [`ssm:resourceTag/${CLUSTER_TAG}`]: group.clusters,
            ...Object.fromEntries(group.tags.map(([key, value]) => [`ssm:resourceTag/${key}`, value])),
          },
        },
      });
    });
  }
  return statements;
}

/** the tag sets that make an instance a node of this kind in this cluster (send-command looks them up the same way) */
function nodeTags(cluster: ClusterConfig, kind: NodeKind): Record<string, string>[] {
  switch (kind) {
    case 'control-plane':
      return [cluster.controlPlaneTags];
    case 'worker':
      return [cluster.workerTags];
    case 'scratch':
      return cluster.restoreVerify ? [scratchTags(cluster.name)] : [];
    case 'node':
      return [cluster.controlPlaneTags, cluster.workerTags];
  }
}

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z0-9])/g, (_m, _dash: string, c: string) => c.toUpperCase());
}
