import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { remediationPrefix } from '../../functions/plan-node-remediation/service';
import { patchingPrefix } from './patch-workers-workflow';
import { snapshotPrefix } from '../../functions/shared/domain/snapshot-key';

export interface NodePolicyProps {
  cluster: string;
  bucket: s3.IBucket;
  key: kms.IKey;
  /** the cluster has a patching block: node-inventory writes under `<cluster>/patching/` */
  patching?: boolean;
  /** the cluster has remediation on: node-notready's node-inventory writes under `<cluster>/remediation/` */
  remediation?: boolean;
}

/**
 * What a cluster's control-plane nodes need for etcd-snapshot: create objects (and finish or
 * abort their multipart uploads) under `<cluster>/etcd/` only, and the bucket key only through
 * S3. No read, no delete, no tagging. Users attach it to the control-plane node role, beside
 * AmazonSSMManagedInstanceCore, and list that role in `bucket.nodeRoleArns`.
 */
export class NodePolicy extends Construct {
  readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: NodePolicyProps) {
    super(scope, id);
    const region = Stack.of(this).region;
    const prefix = `${snapshotPrefix(props.cluster)}*`;
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      managedPolicyName: `Caretaker-${region}-node-${props.cluster}`,
      description: `Caretaker: lets control-plane nodes of ${props.cluster} upload etcd snapshots under ${prefix}, nothing else`,
      statements: [
        new iam.PolicyStatement({
          sid: 'UploadOwnClusterSnapshots',
          actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
          resources: [props.bucket.arnForObjects(prefix)],
        }),
        new iam.PolicyStatement({
          // Decrypt too: S3 decrypts the parts of a multipart upload to assemble them
          sid: 'EncryptWithSnapshotKeyThroughS3',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [props.key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` } },
        }),
      ],
    });
    acknowledgePrefix(
      this.policy,
      props.bucket,
      prefix,
      `snapshot keys are new per backup; nodes may only create objects under ${prefix}`,
    );
    if (props.remediation) {
      const remediation = `${remediationPrefix(props.cluster)}*`;
      // node-inventory (node-notready) writes the cluster's Nodes for the plan
      this.policy.addStatements(
        new iam.PolicyStatement({
          sid: 'WriteNodeInventoryForRemediation',
          actions: ['s3:PutObject'],
          resources: [props.bucket.arnForObjects(remediation)],
        }),
      );
      acknowledgePrefix(
        this.policy,
        props.bucket,
        remediation,
        `remediate executions list the Nodes under their own key; nodes may only write the node inventory under ${remediation}`,
      );
    }
    if (!props.patching) return;
    // node-inventory (worker patching) writes the cluster's Nodes for the plan and the sweep
    this.policy.addStatements(
      new iam.PolicyStatement({
        sid: 'WriteNodeInventoryForPatching',
        actions: ['s3:PutObject'],
        resources: [props.bucket.arnForObjects(patchingPrefix(props.cluster))],
      }),
    );
    acknowledgePrefix(
      this.policy,
      props.bucket,
      patchingPrefix(props.cluster),
      `patch runs are new per execution; nodes may only write the node inventory under ${patchingPrefix(props.cluster)}`,
    );
  }
}

/**
 * What a cluster's restore-verify scratch instances need for etcd-restore-verify: read the
 * snapshot and its manifest under `<cluster>/etcd/`, decrypting through S3. Users attach it to
 * the role of the scratch launch template's instance profile (`restoreVerify.instanceRole`).
 */
export class ScratchPolicy extends Construct {
  readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: NodePolicyProps) {
    super(scope, id);
    const region = Stack.of(this).region;
    const prefix = `${snapshotPrefix(props.cluster)}*`;
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      managedPolicyName: `Caretaker-${region}-scratch-${props.cluster}`,
      description: `Caretaker: lets restore-verify scratch instances of ${props.cluster} download etcd snapshots under ${prefix}, nothing else`,
      statements: [
        new iam.PolicyStatement({
          sid: 'DownloadOwnClusterSnapshots',
          actions: ['s3:GetObject'],
          resources: [props.bucket.arnForObjects(prefix)],
        }),
        new iam.PolicyStatement({
          sid: 'DecryptWithSnapshotKeyThroughS3',
          actions: ['kms:Decrypt'],
          resources: [props.key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` } },
        }),
      ],
    });
    acknowledgePrefix(
      this.policy,
      props.bucket,
      prefix,
      `snapshot keys are new per backup; scratch instances may only read under ${prefix}`,
    );
  }
}

function acknowledgePrefix(
  policy: iam.ManagedPolicy,
  bucket: s3.IBucket,
  prefix: string,
  reason: string,
): void {
  const cfnBucket = bucket.node.defaultChild as s3.CfnBucket;
  Validations.of(policy).acknowledge({
    id: `AwsSolutions-IAM5[Resource::<${Stack.of(policy).getLogicalId(cfnBucket)}.Arn>/${prefix}]`,
    reason,
  });
}
