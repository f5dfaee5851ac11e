import { Duration, Stack, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as actions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as s3 from 'aws-cdk-lib/aws-s3';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  CLUSTER_TAG,
  ROLE_TAG,
  SCRATCH_ROLE,
  type ClusterConfig,
} from '../../functions/shared/domain/config';
import { snapshotPrefix } from '../../functions/shared/domain/snapshot-key';
import { CaretakerFunction, type SharedEnvironment } from './caretaker-function';
import { restoreVerify } from '../../functions/shared/workflows';
import { registryStateMachine } from '../registered-workflow';
import { acknowledgeBucketObjects } from './workflow-state-machine';
import { roleArn } from '../role-arn';
import { allowBackupListing, stateStoreBackups } from './state-store-access';
import { etcdManagerVerificationPrefix } from '../../functions/shared/domain/etcd-manager';

export interface RestoreVerifyWorkflowProps {
  projectRoot: string;
  shared: SharedEnvironment;
  bucket: s3.IBucket;
  key: kms.IKey;
  /** every cluster of the stack; at least one has a restoreVerify block */
  clusters: ClusterConfig[];
  /** the functions other constructs own that this workflow calls */
  sendCommand: CaretakerFunction;
  publishOutcome: CaretakerFunction;
  /** where the janitor's failure alarm goes */
  topic: sns.ITopic;
}

/**
 * pick the newest unjudged snapshot → launch a scratch instance from the cluster's launch
 * template → wait for SSM → restore and check it there (etcd-restore-verify) → tag the verdict
 * and write the report → terminate the scratch instance → report; plus the janitor that
 * terminates scratch instances past their expiry every 15 minutes.
 *
 * Only instances tagged caretaker:role=scratch can ever be terminated by these roles, and the
 * launch role can create instances only with that tag (and no tags on anything that exists).
 */
export class RestoreVerifyWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly pickSnapshot: CaretakerFunction;
  readonly launchScratch: CaretakerFunction;
  readonly checkScratchReady: CaretakerFunction;
  readonly recordVerification: CaretakerFunction;
  readonly terminateScratch: CaretakerFunction;
  readonly reapScratch: CaretakerFunction;
  readonly janitor: events.Rule;
  readonly janitorAlarm: cloudwatch.Alarm;

  constructor(scope: Construct, id: string, props: RestoreVerifyWorkflowProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const common = { projectRoot: props.projectRoot, shared: props.shared };
    const bucketEnv = { SNAPSHOT_BUCKET: props.bucket.bucketName };
    // snapshots exist for etcd clusters; only clusters with restoreVerify can be verified
    const etcdClusters = props.clusters.filter((c) => c.etcd).map((c) => c.name);
    const verifiable = props.clusters.filter((c) => c.restoreVerify);
    const verifiableNames = verifiable.map((c) => c.name);
    if (verifiable.length === 0) throw new Error('RestoreVerifyWorkflow needs a cluster with restoreVerify');
    const ec2Arn = (resource: string, account?: string) =>
      stack.formatArn({
        service: 'ec2',
        resource,
        resourceName: '*',
        ...(account !== undefined && { account }),
      });
    const acknowledgeWildcard = (fn: CaretakerFunction, arn: string, reason: string) =>
      Validations.of(fn.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::${nagArn(arn, stack)}]`,
        reason,
      });

    // — pick-snapshot: list the clusters' snapshot prefixes, read tags and heads (HeadObject
    // needs s3:GetObject; without kms:Decrypt no body can be read)
    this.pickSnapshot = new CaretakerFunction(this, 'PickSnapshot', {
      ...common,
      name: 'pick-snapshot',
      environment: bucketEnv,
      timeout: Duration.minutes(1),
    });
    this.pickSnapshot.allow({
      sid: 'ListClusterSnapshots',
      actions: ['s3:ListBucket'],
      resources: [props.bucket.bucketArn],
      conditions: { StringLike: { 's3:prefix': etcdClusters.map((c) => `${snapshotPrefix(c)}*`) } },
    });
    this.pickSnapshot.allow({
      sid: 'ReadClusterSnapshots',
      actions: ['s3:GetObject', 's3:GetObjectTagging'],
      resources: etcdClusters.map((c) => props.bucket.arnForObjects(`${snapshotPrefix(c)}*`)),
    });
    for (const c of etcdClusters) {
      acknowledgeBucketObjects(
        this.pickSnapshot,
        props.bucket,
        `${snapshotPrefix(c)}*`,
        `snapshot keys are new per backup; reads heads and tags under ${snapshotPrefix(c)} only`,
      );
    }

    // kops with backup.source etcd-manager: etcd-manager's backups in the state store, read only,
    // and Caretaker's records of them under <cluster>/etcd-manager/ in its own bucket
    const stateStores = stateStoreBackups(stack, verifiable);
    allowBackupListing(this.pickSnapshot, stateStores);
    const emRecords = stateStores.map((s) => `${etcdManagerVerificationPrefix(s.cluster)}*`);
    if (emRecords.length > 0) {
      // with etcd.events, which series was judged longest ago: a listing of its records
      this.pickSnapshot.allow({
        sid: 'ListEtcdManagerVerificationRecords',
        actions: ['s3:ListBucket'],
        resources: [props.bucket.bucketArn],
        conditions: { StringLike: { 's3:prefix': emRecords } },
      });
      this.pickSnapshot.allow({
        sid: 'ReadEtcdManagerVerificationRecords',
        actions: ['s3:GetObject'],
        resources: emRecords.map((p) => props.bucket.arnForObjects(p)),
      });
      for (const p of emRecords) {
        acknowledgeBucketObjects(
          this.pickSnapshot,
          props.bucket,
          p,
          `heads Caretaker's verification record of each etcd-manager backup under ${p} only`,
        );
      }
    }

    // — launch-scratch: RunInstances from the configured launch template only (every resource
    // of the request must come with it: ec2:LaunchTemplate), tagged scratch, IMDSv2, encrypted
    // volumes, and the one instance role the configuration names
    this.launchScratch = new CaretakerFunction(this, 'LaunchScratch', { ...common, name: 'launch-scratch' });
    const instances = ec2Arn('instance');
    const volumes = ec2Arn('volume');
    const templates = launchTemplateArns(stack, verifiable);
    const fromTemplates = { ArnLike: { 'ec2:LaunchTemplate': templates } };
    // the image, groups and key pair are the template's own, never overridden in the request
    const templateOwn = { Bool: { 'ec2:IsLaunchTemplateResource': 'true' } };
    this.launchScratch.allow({
      sid: 'LaunchOnlyTaggedScratchInstances',
      actions: ['ec2:RunInstances'],
      resources: [instances],
      conditions: {
        ...fromTemplates,
        StringEquals: {
          [`aws:RequestTag/${ROLE_TAG}`]: SCRATCH_ROLE,
          [`aws:RequestTag/${CLUSTER_TAG}`]: verifiableNames,
          // IMDSv2 only: the instance role's credentials never answer a plain GET
          'ec2:MetadataHttpTokens': 'required',
        },
      },
    });
    this.launchScratch.allow({
      sid: 'LaunchFromConfiguredTemplates',
      actions: ['ec2:RunInstances'],
      resources: templates,
    });
    const templateResources = [ec2Arn('image', ''), ec2Arn('security-group'), ec2Arn('key-pair')];
    this.launchScratch.allow({
      sid: 'LaunchWithTheTemplatesImageAndGroups',
      actions: ['ec2:RunInstances'],
      resources: templateResources,
      conditions: { ...fromTemplates, ...templateOwn },
    });
    // restoreVerify.subnetId overrides the template's subnet; without it the subnet is the template's too
    const networkResources = [ec2Arn('subnet'), ec2Arn('network-interface')];
    const subnetOverridden = verifiable.some((c) => c.restoreVerify?.subnetId);
    this.launchScratch.allow({
      sid: 'LaunchIntoTheTemplatesNetwork',
      actions: ['ec2:RunInstances'],
      resources: networkResources,
      conditions: subnetOverridden ? fromTemplates : { ...fromTemplates, ...templateOwn },
    });
    this.launchScratch.allow({
      sid: 'LaunchOnlyEncryptedVolumes',
      actions: ['ec2:RunInstances'],
      resources: [volumes],
      conditions: { ...fromTemplates, Bool: { 'ec2:Encrypted': 'true' } },
    });
    this.launchScratch.allow({
      sid: 'TagOnlyWhileLaunching',
      actions: ['ec2:CreateTags'],
      resources: [instances, volumes],
      conditions: { StringEquals: { 'ec2:CreateAction': 'RunInstances' } },
    });
    this.launchScratch.allow({
      sid: 'PassOnlyTheScratchInstanceRoleToEc2',
      actions: ['iam:PassRole'],
      resources: [...new Set(verifiable.map((c) => roleArn(stack, c.restoreVerify!.instanceRole)))],
      conditions: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
    });
    acknowledgeWildcard(
      this.launchScratch,
      instances,
      `a new instance has no id before RunInstances; allowed only from the configured launch template (ec2:LaunchTemplate), with IMDSv2 required (ec2:MetadataHttpTokens) and when the request tags it ${ROLE_TAG}=${SCRATCH_ROLE} and ${CLUSTER_TAG}=<a cluster with restoreVerify> (aws:RequestTag conditions); ec2:CreateTags only with ec2:CreateAction=RunInstances`,
    );
    acknowledgeWildcard(
      this.launchScratch,
      volumes,
      'the root volume is created by the same RunInstances call and has no id before it; only encrypted volumes (ec2:Encrypted) from the configured template; ec2:CreateTags on volumes only with ec2:CreateAction=RunInstances',
    );
    for (const arn of [...templateResources, ...networkResources]) {
      acknowledgeWildcard(
        this.launchScratch,
        arn,
        "chosen by the cluster's launch template (and restoreVerify.subnetId), which the user owns and Caretaker cannot name at synth; only ec2:RunInstances from the configured template (ec2:LaunchTemplate) may use them, and the image, groups and key pair only as the template names them (ec2:IsLaunchTemplateResource)",
      );
    }
    if (templates.some((t) => t.endsWith('/*'))) {
      acknowledgeWildcard(
        this.launchScratch,
        templates.find((t) => t.endsWith('/*')) as string,
        'a restoreVerify.launchTemplate given by name has no id at synth (launch-template ARNs carry the id); give the lt-… id to scope this to the template',
      );
    }

    // — check-scratch-ready: read-only lookups
    this.checkScratchReady = new CaretakerFunction(this, 'CheckScratchReady', {
      ...common,
      name: 'check-scratch-ready',
      resourceStarReason:
        'ec2:DescribeInstances and ssm:DescribeInstanceInformation have no resource-level permissions (read-only list calls)',
    });
    this.checkScratchReady.allow({
      actions: ['ec2:DescribeInstances', 'ssm:DescribeInstanceInformation'],
      resources: ['*'],
    });

    // — record-verification: the verdict tag and the report beside the snapshot
    this.recordVerification = new CaretakerFunction(this, 'RecordVerification', {
      ...common,
      name: 'record-verification',
      environment: bucketEnv,
    });
    this.recordVerification.allow({
      sid: 'RecordVerdictBesideSnapshot',
      actions: ['s3:GetObjectTagging', 's3:PutObjectTagging', 's3:PutObject'],
      resources: verifiableNames.map((c) => props.bucket.arnForObjects(`${snapshotPrefix(c)}*`)),
    });
    if (emRecords.length > 0) {
      // etcd-manager's backups are judged in Caretaker's bucket: the state store is never written
      this.recordVerification.allow({
        sid: 'RecordEtcdManagerVerdicts',
        actions: ['s3:PutObject'],
        resources: emRecords.map((p) => props.bucket.arnForObjects(p)),
      });
      for (const p of emRecords) {
        acknowledgeBucketObjects(
          this.recordVerification,
          props.bucket,
          p,
          `one verification record per etcd-manager backup, under ${p} only`,
        );
      }
    }
    // the report is one small PutObject: a data key to encrypt it, never a Decrypt
    this.recordVerification.allow({ actions: ['kms:GenerateDataKey'], resources: [props.key.keyArn] });
    for (const c of verifiableNames) {
      acknowledgeBucketObjects(
        this.recordVerification,
        props.bucket,
        `${snapshotPrefix(c)}*`,
        `snapshot keys are new per backup; tags the verified snapshot and writes its .verification.json report under ${snapshotPrefix(c)} only`,
      );
    }

    // — terminate-scratch and the janitor: scratch instances only, whatever id they are given
    const terminator = (fnId: string, name: 'terminate-scratch' | 'reap-scratch', timeout: Duration) => {
      const fn = new CaretakerFunction(this, fnId, {
        ...common,
        name,
        timeout,
        resourceStarReason: 'ec2:DescribeInstances has no resource-level permissions (read-only list call)',
      });
      fn.allow({ actions: ['ec2:DescribeInstances'], resources: ['*'] });
      fn.allow({
        sid: 'TerminateOnlyScratchInstances',
        actions: ['ec2:TerminateInstances'],
        resources: [instances],
        conditions: { StringEquals: { [`aws:ResourceTag/${ROLE_TAG}`]: SCRATCH_ROLE } },
      });
      acknowledgeWildcard(
        fn,
        instances,
        `scratch instance ids are new per execution; ec2:TerminateInstances only on instances tagged ${ROLE_TAG}=${SCRATCH_ROLE} (aws:ResourceTag condition), so no cluster node can be terminated`,
      );
      return fn;
    };
    this.terminateScratch = terminator('TerminateScratch', 'terminate-scratch', Duration.seconds(30));
    this.reapScratch = terminator('ReapScratch', 'reap-scratch', Duration.minutes(2));

    // the janitor runs every 15 minutes and a missed run is made up by the next one; failed runs
    // still land in its failed-events queue (the stack wires it), and this alarm tells when it
    // keeps failing (scratch instances would pile up and cost money)
    this.janitor = new events.Rule(this, 'Janitor', {
      description: 'terminates Caretaker scratch instances past their caretaker:expires-at',
      schedule: events.Schedule.rate(Duration.minutes(15)),
      targets: [
        new targets.LambdaFunction(this.reapScratch.fn, {
          retryAttempts: 2,
          maxEventAge: Duration.minutes(10),
        }),
      ],
    });
    this.janitorAlarm = new cloudwatch.Alarm(this, 'JanitorFailing', {
      alarmDescription:
        'The scratch-instance janitor (reap-scratch) failed in every run for an hour: expired scratch instances are not being terminated.',
      metric: this.reapScratch.fn.metricErrors({
        period: Duration.minutes(15),
        statistic: cloudwatch.Stats.SUM,
      }),
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      threshold: 1,
      evaluationPeriods: 4,
      datapointsToAlarm: 4,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });
    this.janitorAlarm.addAlarmAction(new actions.SnsAction(props.topic));
    this.janitorAlarm.addOkAction(new actions.SnsAction(props.topic));

    // the substitutions, file and comment come from the workflow registry
    this.stateMachine = registryStateMachine(this, restoreVerify, props.projectRoot, {
      'pick-snapshot': this.pickSnapshot,
      'launch-scratch': this.launchScratch,
      'check-scratch-ready': this.checkScratchReady,
      'send-command': props.sendCommand,
      'record-verification': this.recordVerification,
      'terminate-scratch': this.terminateScratch,
      'publish-outcome': props.publishOutcome,
    });
  }
}

/**
 * The launch templates RunInstances may use: by ARN for templates configured by id; a
 * template configured by name has no id at synth, so any template of the account and region.
 */
function launchTemplateArns(stack: Stack, clusters: ClusterConfig[]): string[] {
  const arn = (name: string) =>
    stack.formatArn({ service: 'ec2', resource: 'launch-template', resourceName: name });
  const configured = clusters.map((c) => c.restoreVerify?.launchTemplate ?? '');
  if (configured.some((t) => !/^lt-[0-9a-f]+$/.test(t))) return [arn('*')];
  return [...new Set(configured)].sort().map(arn);
}

/** how cdk-nag prints an ARN built by formatArn: pseudo parameters as <AWS::Name> */
/** how cdk-nag prints a resource whose ARN has tokens (the partition) in it */
export function nagArn(arn: string, stack: Stack): string {
  const resolved = stack.resolve(arn) as string | { 'Fn::Join': [string, (string | { Ref: string })[]] };
  if (typeof resolved === 'string') return resolved;
  return resolved['Fn::Join'][1].map((part) => (typeof part === 'string' ? part : `<${part.Ref}>`)).join('');
}
