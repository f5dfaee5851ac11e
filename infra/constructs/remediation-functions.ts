import { ArnFormat, Stack, Token, Validations } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import type * as kms from 'aws-cdk-lib/aws-kms';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { remediationPrefix } from '../../functions/plan-node-remediation/service';
import { CLUSTER_TAG } from '../../functions/shared/domain/config';
import { CaretakerFunction, type SharedEnvironment } from './caretaker-function';
import { acknowledgeBucketObjects } from './workflow-state-machine';

export interface RemediationFunctionsProps {
  projectRoot: string;
  shared: SharedEnvironment;
  table: dynamodb.ITable;
  /** node-notready: the node inventory is read from here */
  bucket?: s3.IBucket;
  key?: kms.IKey;
  /** the clusters with remediation on: their tag limits the EC2 and Auto Scaling actions */
  clusters?: string[];
}

/**
 * the remediate workflow's own Lambdas: the attempt ledger (DynamoDB), the pure plan, and for
 * node-notready the plan from the node inventory (S3, `<cluster>/remediation/*` only) and the
 * EC2 reboot / Auto Scaling replacement (only resources carrying the cluster tag)
 */
export class RemediationFunctions extends Construct {
  readonly claimAttempt: CaretakerFunction;
  readonly planRemediation: CaretakerFunction;
  readonly planNodeRemediation?: CaretakerFunction;
  readonly recoverNode?: CaretakerFunction;

  constructor(scope: Construct, id: string, props: RemediationFunctionsProps) {
    super(scope, id);
    const common = { projectRoot: props.projectRoot, shared: props.shared };
    this.claimAttempt = new CaretakerFunction(this, 'ClaimAttempt', { name: 'claim-attempt', ...common });
    // the ledger: read, then one conditional update per attempt
    this.claimAttempt.allow({
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      resources: [props.table.tableArn],
    });
    this.planRemediation = new CaretakerFunction(this, 'PlanRemediation', {
      name: 'plan-remediation',
      ...common,
    });
    const { bucket, key } = props;
    const names = props.clusters ?? [];
    if (!bucket || !key || names.length === 0) return;
    const stack = Stack.of(this);
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const nagArn = (service: string, resource: string) =>
      `arn:<AWS::Partition>:${service}:${region}:<AWS::AccountId>:${resource}`;

    // — plan-node-remediation: the node inventory of this execution, read only
    this.planNodeRemediation = new CaretakerFunction(this, 'PlanNodeRemediation', {
      name: 'plan-node-remediation',
      ...common,
      environment: { SNAPSHOT_BUCKET: bucket.bucketName },
    });
    const prefixes = names.map((c) => `${remediationPrefix(c)}*`);
    this.planNodeRemediation.allow({
      sid: 'ReadTheNodeInventory',
      actions: ['s3:GetObject'],
      resources: prefixes.map((p) => bucket.arnForObjects(p)),
    });
    this.planNodeRemediation.allow({
      actions: ['kms:Decrypt'],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `s3.${stack.region}.amazonaws.com` } },
    });
    for (const p of prefixes) {
      acknowledgeBucketObjects(
        this.planNodeRemediation,
        bucket,
        p,
        `each remediate execution lists the Nodes under its own key; reads under ${p} only`,
      );
    }

    // — recover-node: reboot and replace only instances (and groups) carrying the cluster tag
    this.recoverNode = new CaretakerFunction(this, 'RecoverNode', {
      name: 'recover-node',
      ...common,
      resourceStarReason:
        'ec2:DescribeInstances and autoscaling:DescribeAutoScalingInstances have no resource-level permissions (read-only list calls)',
    });
    this.recoverNode.allow({
      actions: ['ec2:DescribeInstances', 'autoscaling:DescribeAutoScalingInstances'],
      resources: ['*'],
    });
    const tagged = { StringEquals: { [`aws:ResourceTag/${CLUSTER_TAG}`]: names } };
    this.recoverNode.allow({
      sid: 'RebootOnlyTheClustersInstances',
      actions: ['ec2:RebootInstances'],
      resources: [stack.formatArn({ service: 'ec2', resource: 'instance', resourceName: '*' })],
      conditions: tagged,
    });
    this.recoverNode.allow({
      sid: 'ReplaceOnlyInTheClustersGroups',
      actions: ['autoscaling:TerminateInstanceInAutoScalingGroup'],
      resources: [
        stack.formatArn({
          service: 'autoscaling',
          resource: 'autoScalingGroup',
          resourceName: '*:autoScalingGroupName/*',
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ],
      conditions: tagged,
    });
    Validations.of(this.recoverNode.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArn('ec2', 'instance/*')}]`,
      reason: `a NotReady worker is any instance of the cluster; ec2:RebootInstances only on instances tagged ${CLUSTER_TAG}=<a cluster with remediation> (aws:ResourceTag)`,
    });
    Validations.of(this.recoverNode.role).acknowledge({
      id: `AwsSolutions-IAM5[Resource::${nagArn('autoscaling', 'autoScalingGroup:*:autoScalingGroupName/*')}]`,
      reason: `the worker groups are the cluster's own; autoscaling:TerminateInstanceInAutoScalingGroup only in groups tagged ${CLUSTER_TAG}=<a cluster with remediation> (aws:ResourceTag)`,
    });
  }
}
