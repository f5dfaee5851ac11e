import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ArnFormat, type CfnElement, RemovalPolicy, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { checkedSubstitutions } from '../definition-substitutions';
import type { CaretakerFunction } from './caretaker-function';
import { logsKey } from './logs-key';

export interface WorkflowStateMachineProps<K extends string> {
  projectRoot: string;
  /** state-machines/<name>.asl.json, relative to projectRoot */
  definitionFile: string;
  /** every ${Name} the definition uses → the function it names */
  tasks: Record<K, CaretakerFunction>;
  comment: string;
  /** every ${Name} that names another workflow's state machine → that state machine (startExecution.sync) */
  nested?: Record<string, sfn.IStateMachine>;
  /**
   * every ${Name} that names a workflow this stack does not deploy → that workflow's name: the
   * definition gets an ARN that names no state machine and the role no grant (the ASL never
   * reaches it there: upgrade-control-plane starts patch-workers only for a cluster with a
   * patching block)
   */
  absentNested?: Record<string, string>;
}

/**
 * A Caretaker workflow from its ASL file: Standard, typed substitutions checked at synth,
 * logging errors without execution data to its own encrypted log group, X-Ray, and a role that may invoke
 * exactly the unqualified function ARNs the definition names. Creates `Logs` and
 * `StateMachine` directly under `scope`.
 */
export function workflowStateMachine<K extends string>(
  scope: Construct,
  props: WorkflowStateMachineProps<K>,
): sfn.StateMachine {
  const arns = Object.fromEntries(
    Object.entries<CaretakerFunction>(props.tasks).map(([k, fn]) => [k, fn.fn.functionArn]),
  ) as Record<K, string>;
  const definition = readFileSync(join(props.projectRoot, props.definitionFile), 'utf8');

  const logGroup = new logs.LogGroup(scope, 'Logs', {
    retention: logs.RetentionDays.THREE_MONTHS,
    encryptionKey: logsKey(scope),
    removalPolicy: RemovalPolicy.DESTROY,
  });
  const stateMachine = new sfn.StateMachine(scope, 'StateMachine', {
    stateMachineType: sfn.StateMachineType.STANDARD,
    // an S3 asset, not inline: the ASL files alone are half a megabyte, and CloudFormation
    // refuses a template over 1 MB (test/infra/template-size.test.ts)
    definitionBody: sfn.DefinitionBody.fromFile(join(props.projectRoot, props.definitionFile)),
    definitionSubstitutions: checkedSubstitutions(props.definitionFile, definition, {
      ...arns,
      ...Object.fromEntries(Object.entries(props.nested ?? {}).map(([k, sm]) => [k, sm.stateMachineArn])),
      ...Object.fromEntries(
        Object.entries(props.absentNested ?? {}).map(([k, name]) => [
          k,
          Stack.of(scope).formatArn({
            service: 'states',
            resource: 'stateMachine',
            resourceName: `caretaker-${name}-not-deployed`,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ]),
      ),
    }),
    // errors only, without inputs and outputs: those carry task tokens and snapshot keys, and
    // the execution history keeps them for whoever may read it
    logs: { destination: logGroup, level: sfn.LogLevel.ERROR, includeExecutionData: false },
    tracingEnabled: true,
    comment: props.comment,
  });
  // the unqualified ARNs the ASL names, nothing more (grantInvoke would add <arn>:*)
  stateMachine.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['lambda:InvokeFunction'],
      resources: Object.values<string>(arns),
    }),
  );
  for (const nested of Object.values(props.nested ?? {})) allowNestedExecution(stateMachine, nested);
  Validations.of(stateMachine).acknowledge({
    id: 'AwsSolutions-SF1',
    reason:
      'logs ERROR events without execution data on purpose (security review, issue 7): inputs and outputs carry task tokens and snapshot keys; every transition stays in the execution history, which Step Functions keeps 90 days',
  });
  Validations.of(stateMachine.role).acknowledge({
    id: 'AwsSolutions-IAM5[Resource::*]',
    reason:
      'added by Step Functions for X-Ray (xray:PutTraceSegments, GetSamplingRules, …) and CloudWatch Logs delivery (logs:CreateLogDelivery, …): these APIs support only Resource "*"',
  });
  return stateMachine;
}

/**
 * What `states:startExecution.sync` needs (Step Functions' documented policy): start the nested
 * state machine, describe and stop its executions, and the managed EventBridge rule through
 * which Step Functions learns that the child finished.
 */
function allowNestedExecution(parent: sfn.StateMachine, child: sfn.IStateMachine): void {
  const stack = Stack.of(parent);
  const childName = stack.splitArn(child.stateMachineArn, ArnFormat.COLON_RESOURCE_NAME).resourceName!;
  const executions = stack.formatArn({
    service: 'states',
    resource: 'execution',
    resourceName: `${childName}:*`,
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  parent.addToRolePolicy(
    new iam.PolicyStatement({ actions: ['states:StartExecution'], resources: [child.stateMachineArn] }),
  );
  parent.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['states:DescribeExecution', 'states:StopExecution'],
      resources: [executions],
    }),
  );
  parent.addToRolePolicy(
    new iam.PolicyStatement({
      actions: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
      resources: [
        stack.formatArn({
          service: 'events',
          resource: 'rule',
          resourceName: 'StepFunctionsGetEventsForStepFunctionsExecutionRule',
        }),
      ],
    }),
  );
  // cdk-nag names the resource as it reads it: the child's name split out of its ARN's Ref
  const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
  const childRef = JSON.stringify({
    'Fn::Select': [
      6,
      { 'Fn::Split': [':', { Ref: stack.getLogicalId(child.node.defaultChild as CfnElement) }] },
    ],
  });
  Validations.of(parent.role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:states:${region}:<AWS::AccountId>:execution:${childRef}:*]`,
    reason:
      "a nested execution's name is only known at run time: the parent may describe and stop executions of that one child state machine only",
  });
}

/**
 * Acknowledges AwsSolutions-IAM5 for `<bucket ARN>/<suffix>` on a function's role. The
 * finding names the bucket by its logical id, so the acknowledgement does too.
 */
export function acknowledgeBucketObjects(
  fn: CaretakerFunction | iam.ManagedPolicy,
  bucket: s3.IBucket,
  suffix: string,
  reason: string,
): void {
  const cfn = bucket.node.defaultChild as s3.CfnBucket;
  const logicalId = Stack.of(cfn).getLogicalId(cfn);
  const target = fn instanceof iam.ManagedPolicy ? fn : fn.role;
  Validations.of(target).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${logicalId}.Arn>/${suffix}]`,
    reason,
  });
}
