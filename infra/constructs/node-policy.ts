import { Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

/**
 * What a cluster's control-plane nodes need for etcd-snapshot: write (and abort multipart
 * uploads) under their own cluster's prefix only, and the bucket key only through S3; and what
 * its restore-verify scratch instances need for etcd-restore-verify: read the snapshot and its
 * manifest under the same prefix. Users attach it to the node role and to the role of the
 * scratch launch template's instance profile, beside AmazonSSMManagedInstanceCore.
 */
export class NodePolicy extends Construct {
  readonly policy: iam.ManagedPolicy;

  constructor(scope: Construct, id: string, props: { cluster: string; bucket: s3.IBucket; key: kms.IKey }) {
    super(scope, id);
    const region = Stack.of(this).region;
    this.policy = new iam.ManagedPolicy(this, 'Policy', {
      managedPolicyName: `Caretaker-${region}-node-${props.cluster}`,
      description: `Caretaker: lets control-plane nodes of ${props.cluster} upload etcd snapshots, and its restore-verify scratch instances (same policy) download them`,
      statements: [
        new iam.PolicyStatement({
          sid: 'UploadOwnClusterSnapshots',
          actions: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
          resources: [props.bucket.arnForObjects(`${props.cluster}/*`)],
        }),
        new iam.PolicyStatement({
          sid: 'DownloadOwnClusterSnapshots',
          actions: ['s3:GetObject'],
          resources: [props.bucket.arnForObjects(`${props.cluster}/*`)],
        }),
        new iam.PolicyStatement({
          sid: 'UseSnapshotKeyThroughS3',
          actions: ['kms:GenerateDataKey', 'kms:Decrypt'],
          resources: [props.key.keyArn],
          conditions: { StringEquals: { 'kms:ViaService': `s3.${region}.amazonaws.com` } },
        }),
      ],
    });
    const cfnBucket = props.bucket.node.defaultChild as s3.CfnBucket;
    Validations.of(this.policy).acknowledge({
      id: `AwsSolutions-IAM5[Resource::<${Stack.of(this).getLogicalId(cfnBucket)}.Arn>/${props.cluster}/*]`,
      reason: `snapshot keys are new per backup; writes (nodes) and reads (restore-verify scratch instances) are confined to this cluster's prefix ${props.cluster}/`,
    });
  }
}
