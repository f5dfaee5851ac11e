import { Duration } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { ClusterConfig } from '../../functions/shared/domain/config';
import { snapshotPrefix } from '../../functions/shared/domain/snapshot-key';
import { CaretakerFunction, type SharedEnvironment } from './caretaker-function';
import { etcdBackup } from '../../functions/shared/workflows';
import { registryStateMachine } from '../registered-workflow';
import { acknowledgeBucketObjects } from './workflow-state-machine';

export interface EtcdBackupWorkflowProps {
  projectRoot: string;
  shared: SharedEnvironment;
  bucket: s3.IBucket;
  key: kms.IKey;
  /** every cluster of the stack; functions reach the snapshots of those with etcd only */
  clusters: ClusterConfig[];
  /** the functions other constructs own that this workflow calls */
  acquireLock: CaretakerFunction;
  releaseLock: CaretakerFunction;
  findControlPlane: CaretakerFunction;
  sendCommand: CaretakerFunction;
  publishOutcome: CaretakerFunction;
}

/** lock → find a healthy member → snapshot via SSM → verify upload → prune → outcome → unlock */
export class EtcdBackupWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly pickMember: CaretakerFunction;
  readonly verifyUpload: CaretakerFunction;
  readonly pruneSnapshots: CaretakerFunction;

  constructor(scope: Construct, id: string, props: EtcdBackupWorkflowProps) {
    super(scope, id);
    const common = { projectRoot: props.projectRoot, shared: props.shared };
    const bucketEnv = { SNAPSHOT_BUCKET: props.bucket.bucketName };
    // each etcd cluster's snapshots, and nothing else of the bucket
    const prefixes = props.clusters.filter((c) => c.etcd).map((c) => `${snapshotPrefix(c.name)}*`);
    const objects = prefixes.map((p) => props.bucket.arnForObjects(p));
    const acknowledgeObjects = (fn: CaretakerFunction, what: string) => {
      for (const p of prefixes) {
        acknowledgeBucketObjects(
          fn,
          props.bucket,
          p,
          `${what} snapshot objects under ${p} only: keys are new per snapshot (<cluster>/etcd/<date>/<time>-r<revision>.db)`,
        );
      }
    };

    this.pickMember = new CaretakerFunction(this, 'PickMember', { ...common, name: 'pick-member' });

    this.verifyUpload = new CaretakerFunction(this, 'VerifyUpload', {
      ...common,
      name: 'verify-upload',
      environment: bucketEnv,
      // reads the snapshot's head and its manifest only, never the snapshot: the default size does
    });
    this.pruneSnapshots = new CaretakerFunction(this, 'PruneSnapshots', {
      ...common,
      name: 'prune-snapshots',
      environment: bucketEnv,
      timeout: Duration.minutes(2),
    });
    // a stack whose clusters are all EKS has no snapshots for these two to touch
    if (prefixes.length > 0) {
      this.verifyUpload.allow({ actions: ['s3:GetObject'], resources: objects });
      // without ListBucket, HeadObject on a missing key answers 403 instead of 404, and a
      // snapshot that never arrived would look like a permissions fault, not an UploadMismatchError;
      // S3 makes that check without a prefix, so an s3:prefix condition would bring the 403 back.
      // Listing shows key names only; reading an object is confined to the prefixes above.
      this.verifyUpload.allow({ actions: ['s3:ListBucket'], resources: [props.bucket.bucketArn] });
      // it reads the manifest (GetObject): the only function here that decrypts
      this.verifyUpload.allow({ actions: ['kms:Decrypt'], resources: [props.key.keyArn] });
      acknowledgeObjects(this.verifyUpload, 'reads (heads and manifests)');

      this.pruneSnapshots.allow({
        sid: 'ListClusterSnapshots',
        actions: ['s3:ListBucket'],
        resources: [props.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': prefixes } },
      });
      // s3:GetObject is what HeadObject needs; without kms:Decrypt it cannot read a body
      this.pruneSnapshots.allow({
        sid: 'InspectAndDeleteClusterSnapshots',
        actions: [
          's3:GetObject',
          's3:GetObjectTagging',
          's3:GetObjectRetention',
          's3:GetObjectLegalHold',
          's3:DeleteObject',
        ],
        resources: objects,
      });
      acknowledgeObjects(
        this.pruneSnapshots,
        'inspects (head, tags, retention, legal hold) and deletes (a delete marker; the version stays until the lifecycle rule)',
      );
    }

    // the substitutions, file and comment come from the workflow registry
    this.stateMachine = registryStateMachine(this, etcdBackup, props.projectRoot, {
      'acquire-lock': props.acquireLock,
      'release-lock': props.releaseLock,
      'find-control-plane': props.findControlPlane,
      'send-command': props.sendCommand,
      'pick-member': this.pickMember,
      'verify-upload': this.verifyUpload,
      'prune-snapshots': this.pruneSnapshots,
      'publish-outcome': props.publishOutcome,
    });
  }
}
