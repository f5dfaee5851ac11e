import { ArnFormat, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { CLUSTER_TAG, type ClusterConfig } from '../../functions/shared/domain/config';
import { patchRunPrefix } from '../../functions/shared/domain/patching/keys';
import { PATCHED_AT_TAG, PATCHED_BY_TAG, PATCH_SUMMARY_TAG } from '../../functions/record-patch/service';
import { patchWorkers } from '../../functions/shared/workflows';
import { registryStateMachine } from '../registered-workflow';
import { CaretakerFunction, type SharedEnvironment } from './caretaker-function';
import { acknowledgeBucketObjects } from './workflow-state-machine';

export interface PatchWorkersWorkflowProps {
  projectRoot: string;
  shared: SharedEnvironment;
  bucket: s3.IBucket;
  key: kms.IKey;
  clusters: ClusterConfig[];
  /** the functions other constructs own that this workflow calls */
  acquireLock: CaretakerFunction;
  releaseLock: CaretakerFunction;
  sendCommand: CaretakerFunction;
  publishOutcome: CaretakerFunction;
}

/** `<cluster>/patching/*`: every object a patch run of that cluster reads or writes */
export const patchingPrefix = (cluster: string) => `${patchRunPrefix(cluster, 'x').slice(0, -'x/'.length)}*`;

/**
 * Worker OS patching: prepare-patch and plan-patch look things up, check-patch-gate reads the
 * blocker alarms, record-patch tags the cluster's own instances, finish-patch sweeps and sums
 * up; the state machine runs the nodes as a Distributed Map reading the plan from S3. Every S3
 * grant is the patching prefix of the stack's clusters only; CreateTags only the three patch
 * tags, only on instances carrying the cluster tag.
 */
export class PatchWorkersWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly preparePatch: CaretakerFunction;
  readonly planPatch: CaretakerFunction;
  readonly checkPatchGate: CaretakerFunction;
  readonly recordPatch: CaretakerFunction;
  readonly finishPatch: CaretakerFunction;

  constructor(scope: Construct, id: string, props: PatchWorkersWorkflowProps) {
    super(scope, id);
    const stack = Stack.of(this);
    // how cdk-nag prints this stack's ARNs in a finding's id
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const nagArn = (service: string, resource: string) =>
      `arn:<AWS::Partition>:${service}:${region}:<AWS::AccountId>:${resource}`;
    const common = { projectRoot: props.projectRoot, shared: props.shared };
    const bucketEnv = { SNAPSHOT_BUCKET: props.bucket.bucketName };
    const names = props.clusters.map((c) => c.name);
    const prefixes = names.map(patchingPrefix);
    const objects = prefixes.map((p) => props.bucket.arnForObjects(p));
    const lookups =
      'ec2:DescribeInstances and ssm:DescribeInstanceInformation have no resource-level permissions (read-only list calls)';
    const acknowledgePrefix = (fn: CaretakerFunction, what: string) => {
      for (const p of prefixes) {
        acknowledgeBucketObjects(
          fn,
          props.bucket,
          p,
          `patch runs are new per execution; ${what} under ${p} only`,
        );
      }
    };
    // the key through S3 only, as the key policy demands anyway
    const viaS3 = { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } };
    const dataKey = (fn: CaretakerFunction, actions: string[]) =>
      fn.allow({ actions, resources: [props.key.keyArn], conditions: viaS3 });

    // — prepare-patch: the control-plane node kubectl runs on; no S3
    this.preparePatch = new CaretakerFunction(this, 'PreparePatch', {
      ...common,
      name: 'prepare-patch',
      resourceStarReason: lookups,
    });
    this.preparePatch.allow({
      actions: ['ec2:DescribeInstances', 'ssm:DescribeInstanceInformation'],
      resources: ['*'],
    });

    // — plan-patch: the workers, the node inventory in, the plan out
    this.planPatch = new CaretakerFunction(this, 'PlanPatch', {
      ...common,
      name: 'plan-patch',
      environment: bucketEnv,
      timeout: Duration.minutes(2),
      memorySize: 512,
      resourceStarReason: lookups,
    });
    this.planPatch.allow({
      actions: ['ec2:DescribeInstances', 'ssm:DescribeInstanceInformation'],
      resources: ['*'],
    });
    this.planPatch.allow({
      sid: 'ReadAndWriteThePatchPlan',
      actions: ['s3:GetObject', 's3:PutObject'],
      resources: objects,
    });
    dataKey(this.planPatch, ['kms:Decrypt', 'kms:GenerateDataKey']);
    acknowledgePrefix(this.planPatch, 'reads the node inventory and writes the plan');

    // — check-patch-gate: the configured blocker alarms, nothing else
    this.checkPatchGate = new CaretakerFunction(this, 'CheckPatchGate', {
      ...common,
      name: 'check-patch-gate',
    });
    const alarms = [...new Set(props.clusters.flatMap((c) => c.patching?.blockers.alarms ?? []))].sort();
    if (alarms.length > 0) {
      this.checkPatchGate.allow({
        sid: 'ReadTheBlockerAlarms',
        actions: ['cloudwatch:DescribeAlarms'],
        resources: alarms.map((a) =>
          stack.formatArn({
            service: 'cloudwatch',
            resource: 'alarm',
            resourceName: a,
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        ),
      });
    }

    // — record-patch: the patch tags on the cluster's own instances, the node's result
    this.recordPatch = new CaretakerFunction(this, 'RecordPatch', {
      ...common,
      name: 'record-patch',
      environment: bucketEnv,
      resourceStarReason: 'ec2:DescribeInstances has no resource-level permissions (read-only list call)',
    });
    this.recordPatch.allow({ actions: ['ec2:DescribeInstances'], resources: ['*'] });
    const instances = stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' });
    this.recordPatch.allow({
      sid: 'TagOnlyTheClustersInstancesWithThePatchTags',
      actions: ['ec2:CreateTags'],
      resources: [instances],
      conditions: {
        StringEquals: { [`aws:ResourceTag/${CLUSTER_TAG}`]: names },
        'ForAllValues:StringEquals': { 'aws:TagKeys': [PATCHED_AT_TAG, PATCHED_BY_TAG, PATCH_SUMMARY_TAG] },
      },
    });
    Validations.of(this.recordPatch.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArn('ec2', 'instance/*')}]`,
      reason: `a worker is any instance of the cluster; ec2:CreateTags only on instances tagged ${CLUSTER_TAG}=<a cluster of this stack> (aws:ResourceTag) and only the keys ${PATCHED_AT_TAG}, ${PATCHED_BY_TAG}, ${PATCH_SUMMARY_TAG} (aws:TagKeys)`,
    });
    this.recordPatch.allow({ sid: 'WriteTheNodesResult', actions: ['s3:PutObject'], resources: objects });
    dataKey(this.recordPatch, ['kms:GenerateDataKey']);
    acknowledgePrefix(this.recordPatch, 'writes one result object per node');

    // — finish-patch: the results, the plan and the inventory after the run in; the report out
    this.finishPatch = new CaretakerFunction(this, 'FinishPatch', {
      ...common,
      name: 'finish-patch',
      environment: bucketEnv,
      timeout: Duration.minutes(5),
      memorySize: 512,
    });
    this.finishPatch.allow({
      sid: 'ListTheRunsResults',
      actions: ['s3:ListBucket'],
      resources: [props.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': prefixes } },
    });
    this.finishPatch.allow({
      sid: 'ReadTheRunWriteTheReport',
      actions: ['s3:GetObject', 's3:PutObject'],
      resources: objects,
    });
    dataKey(this.finishPatch, ['kms:Decrypt', 'kms:GenerateDataKey']);
    acknowledgePrefix(
      this.finishPatch,
      'reads the plan, the node results and the inventory, writes the report',
    );

    this.stateMachine = registryStateMachine(this, patchWorkers, props.projectRoot, {
      'acquire-lock': props.acquireLock,
      'release-lock': props.releaseLock,
      'prepare-patch': this.preparePatch,
      'send-command': props.sendCommand,
      'plan-patch': this.planPatch,
      'check-patch-gate': this.checkPatchGate,
      'record-patch': this.recordPatch,
      'finish-patch': this.finishPatch,
      'publish-outcome': props.publishOutcome,
    });
    // the Distributed Map: its ItemReader reads the plan, and each node is a child execution of
    // this state machine (its own ARN is not known before it exists: any state machine of this
    // stack's PatchWorkers construct)
    const role = this.stateMachine.role;
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'ReadThePlan',
        actions: ['s3:GetObject'],
        resources: prefixes.map((p) => props.bucket.arnForObjects(`${p.slice(0, -1)}*/plan.json`)),
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: ['kms:Decrypt'], resources: [props.key.keyArn], conditions: viaS3 }),
    );
    const selfArn = stack.formatArn({
      service: 'states',
      resource: 'stateMachine',
      resourceName: `${id}StateMachine*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    const childArn = stack.formatArn({
      service: 'states',
      resource: 'execution',
      resourceName: `${id}StateMachine*`,
      arnFormat: ArnFormat.COLON_RESOURCE_NAME,
    });
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'RunTheMapsChildExecutions',
        actions: ['states:StartExecution'],
        resources: [selfArn],
      }),
    );
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        sid: 'FollowTheMapsChildExecutions',
        actions: ['states:DescribeExecution', 'states:StopExecution'],
        resources: [childArn],
      }),
    );
    const bucketId = stack.getLogicalId(props.bucket.node.defaultChild as s3.CfnBucket);
    for (const p of prefixes) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::<${bucketId}.Arn>/${p}/plan.json]`,
        reason: `the plan's key is new per run (<cluster>/patching/<execution>/plan.json): the Distributed Map's ItemReader reads it, nothing else under ${p}`,
      });
    }
    const childReason =
      'the Distributed Map starts each node as a child execution of this state machine, whose generated name (PatchWorkersStateMachine…) is not known before it exists; StartExecution only on it, Describe/Stop only on its executions';
    for (const resource of [
      'stateMachine:PatchWorkersStateMachine*',
      'execution:PatchWorkersStateMachine*',
    ]) {
      Validations.of(role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagArn('states', resource)}]`,
        reason: childReason,
      });
    }
  }
}
