import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { GetObjectTaggingCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { ListExecutionsCommand, SFNClient, type ExecutionListItem } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
// types for the matchers; jest's setupFilesAfterEnv registers them at run time
import 'aws-sdk-client-mock-jest';
import { ACCOUNT, BACKUP_ARN, BUCKET, run, stackOutputs } from './harness';

const sfn = mockClient(SFNClient);
const s3 = mockClient(S3Client);
const cloudFormation = mockClient(CloudFormationClient);

function execution(name: string, status: string, start: string, seconds?: number): ExecutionListItem {
  const startDate = new Date(start);
  return {
    name,
    status: status as ExecutionListItem['status'],
    executionArn: `arn:aws:states:eu-west-1:${ACCOUNT}:execution:caretaker-etcd-backup:${name}`,
    stateMachineArn: BACKUP_ARN,
    startDate,
    stopDate: seconds === undefined ? undefined : new Date(startDate.getTime() + seconds * 1000),
  };
}

// one state machine serves every cluster: prod and prod-eu runs interleave, newest first
const PAGE_1: ExecutionListItem[] = [
  execution('etcd-backup-prod-eu-20240501T095958Z-cli', 'RUNNING', '2024-05-01T09:59:58Z'),
  execution('etcd-backup-prod-20240501T090000Z', 'SUCCEEDED', '2024-05-01T09:00:01Z', 70),
  execution('etcd-backup-prod-eu-20240501T090000Z', 'FAILED', '2024-05-01T09:00:01Z', 65),
];
const PAGE_2: ExecutionListItem[] = [
  execution('etcd-backup-prod-eu-20240501T080000Z', 'SUCCEEDED', '2024-05-01T08:00:01Z', 72),
  execution('etcd-backup-prod-20240501T080000Z', 'SUCCEEDED', '2024-05-01T08:00:01Z', 71),
  execution('etcd-backup-prod-eu-20240501T070000Z', 'SUCCEEDED', '2024-05-01T07:00:02Z', 3725),
  execution('etcd-backup-prod-eu-20240501T060000Z', 'ABORTED', '2024-05-01T06:00:01Z', 5),
  execution('etcd-backup-prod-eu-20240501T050000Z', 'SUCCEEDED', '2024-05-01T05:00:01Z', 60),
];

const SNAPSHOTS = [
  { Key: 'prod-eu/etcd/2024/04/30/20240430T230000Z-r47000.db', Size: 5_000_000 },
  { Key: 'prod-eu/etcd/2024/04/30/20240430T230000Z-r47000.json', Size: 900 },
  { Key: 'prod-eu/etcd/2024/05/01/20240501T080031Z-r48221.db', Size: 5_452_595 },
  { Key: 'prod-eu/etcd/2024/05/01/20240501T080031Z-r48221.json', Size: 912 },
  { Key: 'prod-eu/etcd/stray-upload.db', Size: 1 },
];

beforeEach(() => {
  sfn.reset();
  s3.reset();
  cloudFormation.reset();
  cloudFormation
    .on(DescribeStacksCommand)
    .resolves(stackOutputs({ EtcdBackupStateMachineArn: BACKUP_ARN, SnapshotBucketName: BUCKET }));
  sfn
    .on(ListExecutionsCommand, { nextToken: undefined })
    .resolves({ executions: PAGE_1, nextToken: 'page-2' })
    .on(ListExecutionsCommand, { nextToken: 'page-2' })
    .resolves({ executions: PAGE_2 });
  s3.on(ListObjectsV2Command, { ContinuationToken: undefined })
    .resolves({ Contents: SNAPSHOTS.slice(2), IsTruncated: true, NextContinuationToken: 'more' })
    .on(ListObjectsV2Command, { ContinuationToken: 'more' })
    .resolves({ Contents: SNAPSHOTS.slice(0, 2), IsTruncated: false });
  s3.on(GetObjectTaggingCommand).resolves({ TagSet: [{ Key: 'caretaker:verified', Value: 'true' }] });
});

describe('caretaker status', () => {
  it("shows the cluster's newest snapshot and its last 5 backups, reading the stack once", async () => {
    // Act
    const out = await run(['status', 'prod-eu']);

    // Assert
    expect(out.code).toBe(0);
    expect(cloudFormation).toHaveReceivedCommandTimes(DescribeStacksCommand, 1);
    expect(cloudFormation).toHaveReceivedCommandWith(DescribeStacksCommand, {
      StackName: 'Caretaker-eu-west-1',
    });
    expect(sfn).toHaveReceivedCommandTimes(ListExecutionsCommand, 2);
    expect(sfn).toHaveReceivedNthSpecificCommandWith(2, ListExecutionsCommand, { nextToken: 'page-2' });
    expect(sfn.commandCalls(ListExecutionsCommand).map((c) => c.args[0].input)).toEqual([
      { stateMachineArn: BACKUP_ARN, maxResults: 100, nextToken: undefined },
      { stateMachineArn: BACKUP_ARN, maxResults: 100, nextToken: 'page-2' },
    ]);
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, { Bucket: BUCKET, Prefix: 'prod-eu/etcd/' });
    expect(s3).toHaveReceivedCommandTimes(ListObjectsV2Command, 2);
    expect(s3).toHaveReceivedCommandTimes(GetObjectTaggingCommand, 1);
    expect(s3).toHaveReceivedCommandWith(GetObjectTaggingCommand, {
      Bucket: BUCKET,
      Key: 'prod-eu/etcd/2024/05/01/20240501T080031Z-r48221.db',
    });
    expect(out.stdout).toContain('cluster   prod-eu (kubeadm, eu-west-1)\n');
    expect(out.stdout).toContain(
      `snapshot  s3://${BUCKET}/prod-eu/etcd/2024/05/01/20240501T080031Z-r48221.db\n`,
    );
    expect(out.stdout).toContain('  taken     2024-05-01T08:00:31Z (1h 59m ago), revision 48221\n');
    expect(out.stdout).toContain('  size      5.2 MiB\n');
    expect(out.stdout).toContain('  verified  yes');
    const table = out.stdout.slice(out.stdout.indexOf('last 5 backups'));
    const names = table
      .split('\n')
      .slice(2, -1)
      .map((line) => line.split(/\s+/).pop());
    expect(names).toEqual([
      'etcd-backup-prod-eu-20240501T095958Z-cli',
      'etcd-backup-prod-eu-20240501T090000Z',
      'etcd-backup-prod-eu-20240501T080000Z',
      'etcd-backup-prod-eu-20240501T070000Z',
      'etcd-backup-prod-eu-20240501T060000Z',
    ]);
    expect(table).toMatch(/RUNNING\s+2024-05-01T09:59:58Z\s+2s…/);
    expect(table).toMatch(/SUCCEEDED\s+2024-05-01T07:00:02Z\s+1h 02m/);
  });

  it('prints JSON with --json', async () => {
    // Arrange
    s3.on(GetObjectTaggingCommand).resolves({ TagSet: [] });

    // Act
    const out = await run(['status', 'prod-eu', '--json']);

    // Assert
    expect(out.code).toBe(0);
    const status = JSON.parse(out.stdout);
    expect(status).toMatchObject({
      cluster: 'prod-eu',
      region: 'eu-west-1',
      stateMachineArn: BACKUP_ARN,
      bucket: BUCKET,
      latestSnapshot: {
        key: 'prod-eu/etcd/2024/05/01/20240501T080031Z-r48221.db',
        takenAt: '2024-05-01T08:00:31Z',
        revision: 48221,
        size: 5_452_595,
        ageSeconds: 7169,
        verified: false,
      },
    });
    expect(status.executions).toHaveLength(5);
    expect(status.executions[1]).toEqual({
      name: 'etcd-backup-prod-eu-20240501T090000Z',
      executionArn: `arn:aws:states:eu-west-1:${ACCOUNT}:execution:caretaker-etcd-backup:etcd-backup-prod-eu-20240501T090000Z`,
      status: 'FAILED',
      startDate: '2024-05-01T09:00:01Z',
      stopDate: '2024-05-01T09:01:06Z',
      durationSeconds: 65,
    });
  });

  it("does not count prod-eu's runs as prod's", async () => {
    // Act
    const out = await run(['status', 'prod', '--json']);

    // Assert
    const names = JSON.parse(out.stdout).executions.map((e: { name: string }) => e.name);
    expect(names).toEqual(['etcd-backup-prod-20240501T090000Z', 'etcd-backup-prod-20240501T080000Z']);
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, { Bucket: BUCKET, Prefix: 'prod/etcd/' });
  });

  it('says so when the cluster has no snapshot yet', async () => {
    // Arrange
    s3.on(ListObjectsV2Command).resolves({ IsTruncated: false });

    // Act
    const out = await run(['status', 'prod-eu']);

    // Assert
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`snapshot  none under s3://${BUCKET}/prod-eu/etcd/\n`);
    expect(s3).not.toHaveReceivedCommand(GetObjectTaggingCommand);
  });

  it('takes the bucket from --bucket and the state machine from the environment without reading the stack', async () => {
    // Act
    const out = await run(['status', 'prod-eu', '--bucket', 'other-bucket'], {
      env: { CARETAKER_ETCD_BACKUP_ARN: BACKUP_ARN },
    });

    // Assert
    expect(out.code).toBe(0);
    expect(cloudFormation).not.toHaveReceivedCommand(DescribeStacksCommand);
    expect(s3).toHaveReceivedCommandWith(ListObjectsV2Command, { Bucket: 'other-bucket' });
  });

  it('rejects a cluster that is not in the configuration without calling AWS', async () => {
    // Act
    const out = await run(['status', 'staging']);

    // Assert
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('cluster "staging" is not in');
    expect(sfn.calls().length + s3.calls().length + cloudFormation.calls().length).toBe(0);
  });
});

describe('caretaker history', () => {
  it("lists the cluster's executions newest first with status, start and duration", async () => {
    // Act
    const out = await run(['history', 'prod-eu']);

    // Assert
    expect(out.code).toBe(0);
    const lines = out.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^STATUS\s+STARTED\s+DURATION\s+NAME$/);
    expect(lines.slice(1)).toHaveLength(6);
    expect(lines[2]).toMatch(
      /^FAILED\s+2024-05-01T09:00:01Z\s+1m 05s\s+etcd-backup-prod-eu-20240501T090000Z$/,
    );
    expect(lines[6]).toMatch(
      /^SUCCEEDED\s+2024-05-01T05:00:01Z\s+1m 00s\s+etcd-backup-prod-eu-20240501T050000Z$/,
    );
    expect(sfn).toHaveReceivedCommandTimes(ListExecutionsCommand, 2);
  });

  it('stops paging once it has --limit executions', async () => {
    // Act
    const out = await run(['history', 'prod-eu', '--limit', '2', '--json']);

    // Assert
    expect(out.code).toBe(0);
    const history = JSON.parse(out.stdout);
    expect(history.workflow).toBe('etcd-backup');
    expect(history.executions.map((e: { name: string }) => e.name)).toEqual([
      'etcd-backup-prod-eu-20240501T095958Z-cli',
      'etcd-backup-prod-eu-20240501T090000Z',
    ]);
    expect(sfn).toHaveReceivedCommandTimes(ListExecutionsCommand, 1);
  });

  it("reads another workflow's state machine with --workflow", async () => {
    // Arrange
    const arn = `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:caretaker-restore-verify`;
    sfn.on(ListExecutionsCommand).resolves({
      executions: [
        execution('restore-verify-prod-eu-20240501T020000Z-cli', 'SUCCEEDED', '2024-05-01T02:00:00Z', 900),
      ],
    });

    // Act
    const out = await run(['history', 'prod-eu', '--workflow', 'restore-verify'], {
      env: { CARETAKER_RESTORE_VERIFY_ARN: arn },
    });

    // Assert
    expect(out.code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(ListExecutionsCommand, { stateMachineArn: arn });
    expect(out.stdout).toMatch(/SUCCEEDED\s+2024-05-01T02:00:00Z\s+15m 00s\s+restore-verify-prod-eu-/);
  });

  it('says so when the cluster has no executions', async () => {
    // Act
    const out = await run(['history', 'lab-us'], { env: { CARETAKER_ETCD_BACKUP_ARN: BACKUP_ARN } });

    // Assert
    expect(out.code).toBe(0);
    expect(out.stdout).toBe('no etcd-backup executions for lab-us in us-east-2\n');
  });
});
