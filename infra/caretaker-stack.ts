import { join } from 'node:path';
import { Annotations, CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { CaretakerConfig } from '../functions/shared/domain/config';
import { BackupAlarm } from './constructs/backup-alarm';
import { Approvals, SlackReceiver, slackChannels, slackSecret } from './constructs/chat-ops';
import { CaretakerFunction, type SharedEnvironment } from './constructs/caretaker-function';
import { ClusterLock } from './constructs/cluster-lock';
import { CLUSTER_PARAMETER_PREFIX, ClusterParameters } from './constructs/cluster-parameters';
import { CommandRunner } from './constructs/command-runner';
import { deadLetterAlarm } from './constructs/dead-letters';
import { EtcdBackupWorkflow } from './constructs/etcd-backup-workflow';
import { EksWorkflows } from './constructs/eks-workflows';
import { HealthAndRemediation } from './constructs/health-and-remediation';
import { RemediationFunctions } from './constructs/remediation-functions';
import { Dashboard } from './constructs/dashboard';
import { Inventory } from './constructs/inventory';
import { NodePolicy, ScratchPolicy } from './constructs/node-policy';
import { allowBackupDownloads, stateStoreBackups } from './constructs/state-store-access';
import { Notifications } from './constructs/notifications';
import { noSuccessAlarm } from './constructs/no-success-alarm';
import { OperationsTable } from './constructs/operations-table';
import { RestoreVerifyWorkflow } from './constructs/restore-verify-workflow';
import { PatchWorkersWorkflow } from './constructs/patch-workers-workflow';
import { SnapshotBucket } from './constructs/snapshot-bucket';
import { WorkflowStarter } from './constructs/workflow-starter';
import { roleArn } from './role-arn';
import { RegisteredWorkflow } from './registered-workflow';
import { allowUpgradeFunctions } from './constructs/upgrade-permissions';
import {
  WORKFLOWS,
  isDeployedFor,
  pascalCase,
  scheduleOf,
  stackOutput,
  upgradeControlPlane,
} from '../functions/shared/workflows';

/** the repository root: functions/, state-machines/ and ssm-documents/ live under it */
export const PROJECT_ROOT = join(__dirname, '..');

export interface CaretakerStackProps extends StackProps {
  /** the parsed configuration, already narrowed to the clusters of this stack's region */
  config: CaretakerConfig;
  /** defaults to the repository root */
  projectRoot?: string;
}

/** everything Caretaker runs in one region, for the clusters of that region */
export class CaretakerStack extends Stack {
  readonly snapshots: SnapshotBucket;
  readonly table: OperationsTable;
  readonly runner: CommandRunner;
  readonly backup: EtcdBackupWorkflow;
  /** only in a stack with at least one cluster that has a restoreVerify block */
  readonly restoreVerify?: RestoreVerifyWorkflow;
  /** only in a stack with at least one cluster that has a patching block */
  readonly patchWorkers?: PatchWorkersWorkflow;
  readonly starter: WorkflowStarter;
  readonly notifications: Notifications;
  readonly health: HealthAndRemediation;

  constructor(scope: Construct, id: string, props: CaretakerStackProps) {
    super(scope, id, props);
    // deliver server access logs by bucket policy instead of the legacy LogDeliveryWrite ACL
    // (set on the stack so tests and the app get the same template without cdk.json)
    this.node.setContext('@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy', true);
    const { config } = props;
    const projectRoot = props.projectRoot ?? PROJECT_ROOT;
    const clusters = config.clusters;

    this.snapshots = new SnapshotBucket(this, 'SnapshotBucket', config.bucket);
    this.table = new OperationsTable(this, 'OperationsTable');
    const parameters = new ClusterParameters(this, 'ClusterParameters', { clusters });
    const shared: SharedEnvironment = {
      CARETAKER_TABLE: this.table.table.tableName,
      CLUSTER_PARAMETER_PREFIX,
    };
    const common = { projectRoot, shared };

    this.notifications = new Notifications(this, 'Notifications', {
      ...common,
      emails: config.notifications.emails,
    });
    const lock = new ClusterLock(this, 'ClusterLock', { ...common, table: this.table.table });
    const inventory = new Inventory(this, 'Inventory', common);
    this.runner = new CommandRunner(this, 'CommandRunner', {
      ...common,
      documentsDirectory: join(projectRoot, 'ssm-documents'),
      table: this.table.table,
      bucketName: this.snapshots.bucket.bucketName,
      clusters,
    });
    this.backup = new EtcdBackupWorkflow(this, 'EtcdBackup', {
      ...common,
      bucket: this.snapshots.bucket,
      key: this.snapshots.key,
      clusters,
      acquireLock: lock.acquire,
      releaseLock: lock.release,
      findControlPlane: inventory.findControlPlane,
      sendCommand: this.runner.sendCommand,
      publishOutcome: this.notifications.publishOutcome,
    });
    if (clusters.some((c) => c.restoreVerify)) {
      this.restoreVerify = new RestoreVerifyWorkflow(this, 'RestoreVerify', {
        ...common,
        bucket: this.snapshots.bucket,
        key: this.snapshots.key,
        clusters,
        sendCommand: this.runner.sendCommand,
        publishOutcome: this.notifications.publishOutcome,
        topic: this.notifications.topic,
      });
    }
    const patched = clusters.filter((c) => c.patching);
    if (patched.length > 0) {
      this.patchWorkers = new PatchWorkersWorkflow(this, 'PatchWorkers', {
        ...common,
        bucket: this.snapshots.bucket,
        key: this.snapshots.key,
        clusters: patched,
        acquireLock: lock.acquire,
        releaseLock: lock.release,
        sendCommand: this.runner.sendCommand,
        publishOutcome: this.notifications.publishOutcome,
      });
    }
    // every registry workflow this stack's clusters use: its own construct built it above, or a
    // RegisteredWorkflow builds it from the registry with the shared functions
    const deployed = WORKFLOWS.filter((w) => isDeployedFor(w, clusters));
    // the EKS workflows' functions, with their EKS permissions, when the stack has an EKS cluster
    const eks = clusters.some((c) => c.kind === 'eks')
      ? new EksWorkflows(this, 'EksFunctions', { ...common, clusters })
      : undefined;
    // the remediate workflow's own functions, only where some cluster has remediation on
    const remediation = deployed.some((w) => w.name === 'remediate')
      ? new RemediationFunctions(this, 'RemediationFunctions', {
          ...common,
          table: this.table.table,
          bucket: this.snapshots.bucket,
          key: this.snapshots.key,
          clusters: clusters.filter((c) => c.remediation?.enabled).map((c) => c.name),
        })
      : undefined;
    const sharedFunctions: Record<string, CaretakerFunction> = {
      ...(remediation && {
        'claim-attempt': remediation.claimAttempt,
        'plan-remediation': remediation.planRemediation,
        ...(remediation.planNodeRemediation && { 'plan-node-remediation': remediation.planNodeRemediation }),
        ...(remediation.recoverNode && { 'recover-node': remediation.recoverNode }),
      }),
      'acquire-lock': lock.acquire,
      'release-lock': lock.release,
      'find-control-plane': inventory.findControlPlane,
      'send-command': this.runner.sendCommand,
      'publish-outcome': this.notifications.publishOutcome,
      ...eks?.functions(),
    };
    // ChatOps and approval gates (APPROVAL-GATE.md): the Slack secret when the config has a
    // slack block; request-approval when a deployed workflow has a gate
    const slack = config.slack ? slackSecret(this) : undefined;
    if (deployed.some((w) => Object.values<string>(w.substitutions).includes('request-approval'))) {
      sharedFunctions['request-approval'] = new Approvals(this, 'Approvals', {
        ...common,
        table: this.table.table,
        topic: this.notifications.topic,
        topicKey: this.notifications.key,
        slackSecret: slack,
        slackChannels: slackChannels(clusters),
      }).requestApproval;
    }
    // in registry order, so a workflow that nests another (remediate runs etcd-backup) finds it built
    const stateMachines: Record<string, sfn.IStateMachine> = {};
    for (const workflow of deployed) {
      const own = this.node.tryFindChild(pascalCase(workflow.name)) as { stateMachine?: sfn.IStateMachine };
      stateMachines[workflow.name] =
        own?.stateMachine ??
        new RegisteredWorkflow(this, pascalCase(workflow.name), {
          ...common,
          workflow,
          functions: sharedFunctions,
          stateMachines,
        }).stateMachine;
    }
    const upgrade = this.node.tryFindChild(pascalCase(upgradeControlPlane.name));
    if (upgrade instanceof RegisteredWorkflow) allowUpgradeFunctions(upgrade.functions, clusters);
    // the command completers answer the task tokens of the workflows that send node commands only
    this.runner.allowTaskCallbacks(
      deployed
        .filter((w) => Object.values<string>(w.substitutions).includes('send-command'))
        .map((w) => stateMachines[w.name]!),
    );
    if (config.slack && slack) {
      new SlackReceiver(this, 'Slack', {
        ...common,
        slack: config.slack,
        clusters,
        secret: slack,
        table: this.table.table,
        stateMachines,
        alarmTopic: this.notifications.topic,
        publishOutcome: this.notifications.publishOutcome,
      });
    }
    this.starter = new WorkflowStarter(this, 'WorkflowStarter', { ...common, stateMachines });
    this.health = new HealthAndRemediation(this, 'Health', {
      ...common,
      clusters,
      table: this.table.table,
      runner: this.runner,
      bucket: this.snapshots.bucket,
      topic: this.notifications.topic,
      remediate: stateMachines['remediate'],
    });
    new Dashboard(this, 'Dashboard', {
      clusters,
      stateMachines,
      alarms: this.health.alarms,
      figureLogs: [
        this.notifications.publishOutcome,
        ...(this.restoreVerify ? [this.restoreVerify.recordVerification] : []),
      ],
      probeLogs: this.health.probe,
      patchLogs: this.patchWorkers ? [this.patchWorkers.recordPatch] : [],
    });

    // every function may read the clusters' (non-secret) resolved configuration
    const parameterArns = parameters.parameters.map((p) => p.parameterArn);
    for (const fn of this.node
      .findAll()
      .filter((c): c is CaretakerFunction => c instanceof CaretakerFunction)) {
      fn.role.addToPolicy(
        new iam.PolicyStatement({ actions: ['ssm:GetParameter'], resources: parameterArns }),
      );
    }

    for (const cluster of clusters) {
      for (const workflow of deployed) {
        const schedule = scheduleOf(workflow, cluster);
        if (schedule) this.starter.schedule(cluster, workflow.name, schedule.expression, schedule.timeZone);
      }
      // the health probe's SnapshotAgeSeconds and VerifiedSnapshotAgeSeconds alarms replace these
      // where it runs: Succeeded and Verified are log fields now, not metrics (domain/metrics.ts);
      // with etcd-manager (kops) taking the backups, Caretaker's backup never succeeds there
      const probed = cluster.health?.enabled === true && cluster.etcd !== undefined;
      if (cluster.backup.enabled && cluster.backup.source !== 'etcd-manager' && !probed) {
        new BackupAlarm(this, `BackupAlarm-${cluster.name}`, { cluster, topic: this.notifications.topic });
      }
      const rv = cluster.restoreVerify;
      if (rv?.enabled && !probed) {
        noSuccessAlarm(this, `RestoreVerifyAlarm-${cluster.name}`, {
          cluster: cluster.name,
          workflow: 'restore-verify',
          // record-verification records Verified (0/1) per cluster; a failed restore is 0
          metricName: 'Verified',
          windowSeconds: rv.alarmAfterHours * 3600,
          what: `No etcd snapshot of cluster ${cluster.name} was verified by a restore`,
          detail: `restoreVerify.alarmAfterHours ${rv.alarmAfterHours}, schedule ${rv.schedule}`,
          topic: this.notifications.topic,
        });
      }
      if (cluster.etcd) {
        const snapshots = { cluster: cluster.name, bucket: this.snapshots.bucket, key: this.snapshots.key };
        const node = new NodePolicy(this, `NodePolicy-${cluster.name}`, {
          ...snapshots,
          patching: cluster.patching !== undefined,
          remediation: cluster.remediation?.enabled === true,
        });
        new CfnOutput(this, `NodePolicyArn-${cluster.name}`, {
          description: `attach to the control-plane node role of ${cluster.name}`,
          value: node.policy.managedPolicyArn,
        });
        if (cluster.restoreVerify) {
          const scratch = new ScratchPolicy(this, `ScratchPolicy-${cluster.name}`, snapshots);
          // kops, backup.source etcd-manager: the scratch instance downloads etcd-manager's backups
          for (const store of stateStoreBackups(this, [cluster])) allowBackupDownloads(scratch.policy, store);
          new CfnOutput(this, `ScratchPolicyArn-${cluster.name}`, {
            description: `attach to the scratch instance role of ${cluster.name} (restoreVerify.instanceRole)`,
            value: scratch.policy.managedPolicyArn,
          });
        }
      }
    }

    // who may read, encrypt and judge snapshots, by ARN; the bucket and key policies refuse
    // everyone else (README, Security)
    const scratchRoles = clusters.flatMap((c) =>
      c.etcd && c.restoreVerify ? [roleArn(this, c.restoreVerify.instanceRole)] : [],
    );
    const { nodeRoleArns, breakGlassRoleArns } = config.bucket;
    const rv = this.restoreVerify;
    const roleOf = (fn: CaretakerFunction) => fn.role.roleArn;
    const pw = this.patchWorkers;
    // patch runs read and write under <cluster>/patching/ only (their IAM says so)
    const patchReaders = pw
      ? [roleOf(pw.planPatch), roleOf(pw.finishPatch), pw.stateMachine.role.roleArn]
      : [];
    const patchWriters = pw ? [roleOf(pw.planPatch), roleOf(pw.recordPatch), roleOf(pw.finishPatch)] : [];
    // node-notready reads the node inventory under <cluster>/remediation/ only
    const nodePlan = remediation?.planNodeRemediation;
    const nodePlanReaders = nodePlan ? [roleOf(nodePlan)] : [];
    this.snapshots.restrictAccess({
      // HeadObject needs s3:GetObject: prune-snapshots and pick-snapshot read heads, not bodies
      readers: [
        ...(this.health.probe ? [roleOf(this.health.probe)] : []),
        roleOf(this.backup.verifyUpload),
        roleOf(this.backup.pruneSnapshots),
        ...(rv ? [roleOf(rv.pickSnapshot)] : []),
        ...patchReaders,
        ...nodePlanReaders,
        ...scratchRoles,
        ...breakGlassRoleArns,
      ],
      decrypters: [
        ...nodePlanReaders,
        ...(this.health.probe ? [roleOf(this.health.probe)] : []),
        roleOf(this.backup.verifyUpload),
        ...patchReaders,
        ...scratchRoles,
        ...nodeRoleArns,
        ...breakGlassRoleArns,
      ],
      encrypters: [...(rv ? [roleOf(rv.recordVerification)] : []), ...patchWriters, ...nodeRoleArns],
      verdictWriters: rv ? [roleOf(rv.recordVerification)] : [],
    });
    if (
      clusters.some((c) => c.etcd && c.backup.enabled && c.backup.source !== 'etcd-manager') &&
      nodeRoleArns.length === 0
    ) {
      Annotations.of(this).addWarningV2(
        'caretaker:empty-node-role-arns',
        'bucket.nodeRoleArns is empty: no control-plane node may encrypt with the snapshot key, so every upload fails. List the roles your control-plane nodes run as (README, Security).',
      );
    }

    // functions invoked asynchronously keep what still fails after Lambda's retries; every
    // dead-letter queue of the stack alarms when anything lands in it
    for (const fn of [
      this.runner.completeCommand,
      this.runner.reconcileCommands,
      this.starter.startWorkflow,
      ...(this.restoreVerify ? [this.restoreVerify.reapScratch] : []),
    ]) {
      fn.keepFailedEvents();
    }
    for (const queue of this.node.findAll().filter((c): c is sqs.Queue => c instanceof sqs.Queue)) {
      deadLetterAlarm(queue, this.notifications.topic);
    }

    // last, so every alarm above is in the list: each may publish to the topic
    this.notifications.allowAlarmsToPublish(
      this.node.findAll().filter((c): c is cloudwatch.Alarm => c instanceof cloudwatch.Alarm),
    );

    new CfnOutput(this, 'SnapshotBucketName', { value: this.snapshots.bucket.bucketName });
    new CfnOutput(this, 'OperationsTableName', { value: this.table.table.tableName });
    new CfnOutput(this, 'NotificationTopicArn', { value: this.notifications.topic.topicArn });
    for (const [workflow, stateMachine] of Object.entries(stateMachines)) {
      new CfnOutput(this, stackOutput(workflow), {
        value: stateMachine.stateMachineArn,
        exportName: `${this.stackName}-${stackOutput(workflow)}`,
      });
    }
  }
}
