import { Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import type { BucketConfig } from '../../functions/shared/domain/config';
import { verificationReportKey } from '../../functions/shared/domain/verification';

/** `.verification.json`: the report key of a snapshot key that is nothing but its suffix */
const REPORT_SUFFIX = verificationReportKey('.db');

export type SnapshotBucketProps = Pick<BucketConfig, 'noncurrentDays' | 'objectLockDays'>;

/**
 * Who may do what with the snapshots, by principal ARN (roles; no wildcards). The bucket and
 * key policies deny or withhold everything else, whatever a principal's IAM policies say.
 */
export interface SnapshotAccess {
  /** may call s3:GetObject (HeadObject needs it too) and s3:GetObjectVersion */
  readers: string[];
  /** may decrypt through S3: readers of object bodies, and uploaders (multipart uploads need it) */
  decrypters: string[];
  /** may encrypt new objects through S3 (kms:GenerateDataKey) */
  encrypters: string[];
  /** the only principals that write verification reports and object tags (the verdict) */
  verdictWriters: string[];
}

/** what an account administrator may do with the key: manage it, never use it on data */
const KEY_ADMINISTRATION = [
  'kms:Describe*',
  'kms:List*',
  'kms:Get*',
  'kms:Enable*',
  'kms:Disable*',
  'kms:Put*',
  'kms:Update*',
  'kms:Revoke*',
  'kms:Delete*',
  'kms:CreateAlias',
  'kms:TagResource',
  'kms:UntagResource',
  'kms:ScheduleKeyDeletion',
  'kms:CancelKeyDeletion',
];

/**
 * Where etcd snapshots live: SSE-KMS with our own key, versioned, TLS-only, never public,
 * Object Lock (governance) unless turned off. Retention is decided by prune-snapshots; the
 * lifecycle rules are only the backstop that finally removes what it pruned. An etcd snapshot
 * holds every Secret of its cluster: `restrictAccess` names who may read, encrypt and judge.
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
      // not the default "account may do kms:*": IAM policies with broad KMS rights must not be
      // enough to decrypt snapshots. Administration stays with the account; using the key on
      // data is granted in restrictAccess, to named principals and only through S3.
      policy: new iam.PolicyDocument({
        statements: [
          new iam.PolicyStatement({
            sid: 'AccountAdministersTheKey',
            principals: [new iam.AccountRootPrincipal()],
            actions: KEY_ADMINISTRATION,
            resources: ['*'],
          }),
        ],
      }),
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

    const locked = props.objectLockDays !== undefined;
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
      // S3 turns Object Lock on when it creates the bucket (README, Security)
      objectLockEnabled: locked ? true : undefined,
      objectLockDefaultRetention: locked
        ? s3.ObjectLockRetention.governance(Duration.days(props.objectLockDays as number))
        : undefined,
      lifecycleRules: [
        { id: 'expire-pruned-versions', noncurrentVersionExpiration: Duration.days(props.noncurrentDays) },
        { id: 'abort-incomplete-uploads', abortIncompleteMultipartUploadAfter: Duration.days(1) },
        // a version whose delete marker is the only thing left is clutter
        { id: 'remove-expired-delete-markers', expiredObjectDeleteMarker: true },
      ],
      removalPolicy: RemovalPolicy.RETAIN,
    });

    // every object is encrypted with this bucket's key: no SSE-C (a key S3 never keeps, so
    // whoever uploads could make a snapshot unreadable), no SSE-S3, no other KMS key
    const objects = this.bucket.arnForObjects('*');
    const denyPut = (sid: string, conditions: Record<string, Record<string, unknown>>) =>
      this.bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid,
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions: ['s3:PutObject'],
          resources: [objects],
          conditions,
        }),
      );
    denyPut('DenyCustomerProvidedKeys', {
      Null: { 's3:x-amz-server-side-encryption-customer-algorithm': 'false' },
    });
    denyPut('DenyOtherEncryption', {
      StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption': 'aws:kms' },
    });
    denyPut('DenyOtherKmsKeys', {
      StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption-aws-kms-key-id': this.key.keyArn },
    });
  }

  /**
   * Names the only principals that may read snapshots, use the key, and record verdicts: a
   * bucket policy denies the rest, and the key policy grants its data actions to these alone,
   * only through S3 in this region.
   */
  restrictAccess(access: SnapshotAccess): void {
    const stack = Stack.of(this);
    const viaS3 = {
      'kms:ViaService': `s3.${stack.region}.amazonaws.com`,
      'kms:CallerAccount': stack.account,
    };
    const allowKey = (sid: string, actions: string[], principals: string[]) => {
      if (principals.length === 0) return;
      this.key.addToResourcePolicy(
        new iam.PolicyStatement({
          sid,
          principals: [new iam.AccountRootPrincipal()],
          actions,
          resources: ['*'],
          conditions: { StringEquals: viaS3, ArnLike: { 'aws:PrincipalArn': principals } },
        }),
      );
    };
    allowKey('DecryptThroughS3ForNamedPrincipals', ['kms:Decrypt'], access.decrypters);
    allowKey('EncryptThroughS3ForNamedPrincipals', ['kms:GenerateDataKey'], access.encrypters);

    // a Deny naming nobody (a stack without etcd clusters) denies everyone
    const exceptFor = (principals: string[]) =>
      principals.length > 0 ? { ArnNotLike: { 'aws:PrincipalArn': principals } } : undefined;
    const deny = (sid: string, actions: string[], resource: string, principals: string[]) =>
      this.bucket.addToResourcePolicy(
        new iam.PolicyStatement({
          sid,
          effect: iam.Effect.DENY,
          principals: [new iam.AnyPrincipal()],
          actions,
          resources: [resource],
          conditions: exceptFor(principals),
        }),
      );
    deny(
      'OnlyNamedPrincipalsRead',
      ['s3:GetObject', 's3:GetObjectVersion'],
      this.bucket.arnForObjects('*'),
      access.readers,
    );
    // a node may upload snapshots, never a verdict about them
    deny(
      'OnlyVerdictWritersWriteReports',
      ['s3:PutObject'],
      this.bucket.arnForObjects(`*${REPORT_SUFFIX}`),
      access.verdictWriters,
    );
    deny(
      'OnlyVerdictWritersTag',
      [
        's3:PutObjectTagging',
        's3:PutObjectVersionTagging',
        's3:DeleteObjectTagging',
        's3:DeleteObjectVersionTagging',
      ],
      this.bucket.arnForObjects('*'),
      access.verdictWriters,
    );
  }
}
