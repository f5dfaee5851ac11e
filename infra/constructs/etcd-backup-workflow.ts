import { Duration } from 'aws-cdk-lib';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { CaretakerFunction, type SharedEnvironment } from './caretaker-function';
import { etcdBackup } from '../../functions/shared/workflows';
import { registryStateMachine } from '../registered-workflow';
import { acknowledgeBucketObjects } from './workflow-state-machine';

export interface EtcdBackupWorkflowProps {
  projectRoot: string;
  shared: SharedEnvironment;
  bucket: s3.IBucket;
  key: kms.IKey;
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
    const objects = props.bucket.arnForObjects('*');
    const objectsReason = (what: string) =>
      `${what} any snapshot object of the Caretaker bucket: keys are per snapshot (<cluster>/etcd/<date>/<time>-r<revision>.db)`;

    this.pickMember = new CaretakerFunction(this, 'PickMember', { ...common, name: 'pick-member' });

    this.verifyUpload = new CaretakerFunction(this, 'VerifyUpload', {
      ...common,
      name: 'verify-upload',
      environment: bucketEnv,
      // reads the whole snapshot to check its sha256
      timeout: Duration.minutes(5),
      memorySize: 512,
    });
    this.verifyUpload.allow({ actions: ['s3:GetObject'], resources: [objects] });
    // without ListBucket, HeadObject on a missing key answers 403 instead of 404, and a
    // snapshot that never arrived would look like a permissions fault, not an UploadMismatchError
    this.verifyUpload.allow({ actions: ['s3:ListBucket'], resources: [props.bucket.bucketArn] });
    this.verifyUpload.allow({ actions: ['kms:Decrypt'], resources: [props.key.keyArn] });
    acknowledgeObjects(this.verifyUpload, props.bucket, objectsReason('reads'));

    this.pruneSnapshots = new CaretakerFunction(this, 'PruneSnapshots', {
      ...common,
      name: 'prune-snapshots',
      environment: bucketEnv,
      timeout: Duration.minutes(2),
    });
    this.pruneSnapshots.allow({ actions: ['s3:ListBucket'], resources: [props.bucket.bucketArn] });
    this.pruneSnapshots.allow({
      actions: [
        's3:GetObject',
        's3:GetObjectTagging',
        's3:GetObjectRetention',
        's3:GetObjectLegalHold',
        's3:DeleteObject',
      ],
      resources: [objects],
    });
    this.pruneSnapshots.allow({ actions: ['kms:Decrypt'], resources: [props.key.keyArn] });
    acknowledgeObjects(
      this.pruneSnapshots,
      props.bucket,
      objectsReason(
        'lists, inspects (tags, retention, legal hold) and deletes (leaving a non-current version)',
      ),
    );

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

function acknowledgeObjects(fn: CaretakerFunction, bucket: s3.IBucket, reason: string): void {
  acknowledgeBucketObjects(fn, bucket, '*', reason);
}
