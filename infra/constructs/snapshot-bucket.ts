import { Duration, RemovalPolicy, Validations } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';

export interface SnapshotBucketProps {
  /** delete non-current (pruned or overwritten) versions after this many days */
  noncurrentDays: number;
  /** default GOVERNANCE retention; omit for no Object Lock */
  objectLockDays?: number;
}

/**
 * Where etcd snapshots live: SSE-KMS with our own key, versioned, TLS-only, never public,
 * optionally Object Lock. Retention is decided by prune-snapshots; the lifecycle rules are
 * only the backstop that finally removes what it pruned.
 */
export class SnapshotBucket extends Construct {
  readonly bucket: s3.Bucket;
  readonly key: kms.Key;
  readonly accessLogs: s3.Bucket;

  constructor(scope: Construct, id: string, props: SnapshotBucketProps) {
    super(scope, id);
    this.key = new kms.Key(this, 'Key', {
      description: 'Caretaker etcd snapshots',
      enableKeyRotation: true,
      // a deleted key makes every snapshot unreadable
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // access logs may only be delivered to SSE-S3 buckets
    this.accessLogs = new s3.Bucket(this, 'AccessLogs', {
      encryption: s3.BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      versioned: true,
      lifecycleRules: [
        { expiration: Duration.days(365), noncurrentVersionExpiration: Duration.days(30) },
        { abortIncompleteMultipartUploadAfter: Duration.days(1) },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
    Validations.of(this.accessLogs).acknowledge({
      id: 'AwsSolutions-S1',
      reason:
        'this is the server access log bucket of the snapshot bucket; logging it into itself would loop',
    });

    this.bucket = new s3.Bucket(this, 'Snapshots', {
      encryption: s3.BucketEncryption.KMS,
      encryptionKey: this.key,
      bucketKeyEnabled: true,
      versioned: true,
      enforceSSL: true,
      blockPublicAccess: s3.BlockPublicAccess.BLOCK_ALL,
      objectOwnership: s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
      serverAccessLogsBucket: this.accessLogs,
      serverAccessLogsPrefix: 'snapshots/',
      objectLockEnabled: props.objectLockDays !== undefined ? true : undefined,
      objectLockDefaultRetention:
        props.objectLockDays !== undefined
          ? s3.ObjectLockRetention.governance(Duration.days(props.objectLockDays))
          : undefined,
      lifecycleRules: [
        { id: 'expire-pruned-versions', noncurrentVersionExpiration: Duration.days(props.noncurrentDays) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        // a version whose delete marker is the only thing left is clutter
        { id: 'remove-expired-delete-markers', expiredObjectDeleteMarker: true },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
