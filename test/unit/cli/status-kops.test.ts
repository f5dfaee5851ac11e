import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import {
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListObjectsV2Command,
  NoSuchKey,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { ListExecutionsCommand, SFNClient } from '@aws-sdk/client-sfn';
import { sdkStreamMixin } from '@smithy/core/serde';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { Readable } from 'node:stream';
import { BACKUP_ARN, BUCKET, configDir, run, stackOutputs } from './harness';

const sfn = mockClient(SFNClient);
const s3 = mockClient(S3Client);
const cloudFormation = mockClient(CloudFormationClient);

const STORE = 'kops-state-store';
const BACKUPS = 'clusters/prod.k8s.example.com/backups/etcd';
const backup = (series: string, name: string) => `${BACKUPS}/${series}/${name}/etcd.backup.gz`;
const meta = (series: string, name: string) => `${BACKUPS}/${series}/${name}/_etcd_backup.meta`;

function kopsConfig(cluster: Record<string, unknown>) {
  return configDir({
    clusters: [{ name: 'kops-prod', kind: 'kops', region: 'eu-west-1', ...cluster }],
  }).dir;
}

const body = (text: string) => ({ Body: sdkStreamMixin(Readable.from([Buffer.from(text)])) });

beforeEach(() => {
  sfn.reset();
  s3.reset();
  cloudFormation.reset();
  cloudFormation
    .on(DescribeStacksCommand)
    .resolves(stackOutputs({ EtcdBackupStateMachineArn: BACKUP_ARN, SnapshotBucketName: BUCKET }));
  sfn.on(ListExecutionsCommand).resolves({ executions: [] });
  s3.on(ListObjectsV2Command).resolves({ IsTruncated: false });
  s3.on(GetObjectCommand).rejects(new NoSuchKey({ message: 'NoSuchKey', $metadata: {} }));
});

describe('caretaker status on kops', () => {
  const etcdManager = {
    backup: { source: 'etcd-manager' },
    etcd: { events: true },
    kops: { stateStore: `s3://${STORE}/clusters`, clusterName: 'prod.k8s.example.com' },
  };

  it("shows etcd-manager's newest backup per etcd cluster from the state store and Caretaker's verdict on each", async () => {
    s3.on(ListObjectsV2Command, { Bucket: STORE, Prefix: `${BACKUPS}/main/` }).resolves({
      Contents: [
        { Key: backup('main', '2024-05-01T09:45:00Z-000097'), Size: 3_145_728 },
        { Key: meta('main', '2024-05-01T09:45:00Z-000097'), Size: 90 },
        { Key: backup('main', '2024-05-01T09:30:00Z-000096'), Size: 3_000_000 },
        { Key: meta('main', '2024-05-01T09:30:00Z-000096'), Size: 90 },
        // data without meta: etcd-manager has not finished it, and lists it as no backup
        { Key: backup('main', '2024-05-01T09:59:00Z-000098'), Size: 3_000_000 },
      ],
      IsTruncated: false,
    });
    s3.on(ListObjectsV2Command, { Bucket: STORE, Prefix: `${BACKUPS}/events/` }).resolves({
      Contents: [
        { Key: backup('events', '2024-05-01T09:40:00Z-000011'), Size: 1024 },
        { Key: meta('events', '2024-05-01T09:40:00Z-000011'), Size: 90 },
      ],
      IsTruncated: false,
    });
    s3.on(GetObjectCommand, {
      Bucket: BUCKET,
      Key: 'kops-prod/etcd-manager/main/2024-05-01T09:45:00Z-000097.verification.json',
    }).resolves(body(JSON.stringify({ verified: true, verifiedAt: '2024-05-01T09:55:00.000Z' })));

    const out = await run(['status', 'kops-prod'], { cwd: kopsConfig(etcdManager) });

    expect(out.code).toBe(0);
    expect(out.stdout).toContain(
      "etcd-manager takes this cluster's backups (backup.source etcd-manager); Caretaker verifies them\n" +
        `main    s3://${STORE}/${backup('main', '2024-05-01T09:45:00Z-000097')}\n` +
        '  taken     2024-05-01T09:45:00Z (15m 00s ago)\n' +
        '  size      3.0 MiB\n' +
        '  verified  yes: a restore of it was checked (2024-05-01T09:55:00.000Z)\n' +
        `events  s3://${STORE}/${backup('events', '2024-05-01T09:40:00Z-000011')}\n` +
        '  taken     2024-05-01T09:40:00Z (20m 00s ago)\n' +
        '  size      1.0 KiB\n' +
        '  verified  not yet: restore-verify has not judged it\n',
    );
    // read only: listings and reads, never a write, and the state store is never tagged
    expect(s3).not.toHaveReceivedCommand(PutObjectCommand);
    expect(s3).not.toHaveReceivedCommandWith(GetObjectTaggingCommand, { Bucket: STORE });
  });

  it('prints the backups and verdicts in --json, a failed verdict with its check', async () => {
    s3.on(ListObjectsV2Command, { Bucket: STORE, Prefix: `${BACKUPS}/main/` }).resolves({
      Contents: [
        { Key: backup('main', '2024-05-01T09:45:00Z-000097'), Size: 10 },
        { Key: meta('main', '2024-05-01T09:45:00Z-000097'), Size: 90 },
      ],
      IsTruncated: false,
    });
    s3.on(GetObjectCommand).resolves(
      body(JSON.stringify({ verified: false, failedCheck: 'gzip', reason: 'does not unpack whole' })),
    );

    const out = await run(['status', 'kops-prod', '--json'], {
      cwd: kopsConfig({ ...etcdManager, etcd: {} }),
    });

    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout).kops).toEqual([
      {
        series: 'main',
        listed: `s3://${STORE}/${BACKUPS}/main/`,
        newest: {
          url: `s3://${STORE}/${backup('main', '2024-05-01T09:45:00Z-000097')}`,
          takenAt: '2024-05-01T09:45:00Z',
          ageSeconds: 900,
          size: 10,
          verified: false,
          failedCheck: 'gzip',
        },
      },
    ]);
  });

  it('says when etcd-manager has written no backup yet', async () => {
    const out = await run(['status', 'kops-prod'], { cwd: kopsConfig(etcdManager) });

    expect(out.stdout).toContain(`main    none under s3://${STORE}/${BACKUPS}/main/\n`);
    expect(out.stdout).toContain(`events  none under s3://${STORE}/${BACKUPS}/events/\n`);
  });

  it("shows Caretaker's own events series beside the main snapshot when it takes the backups", async () => {
    const events = 'kops-prod/etcd/events/2024/05/01/20240501T090012Z-r812.db';
    s3.on(ListObjectsV2Command, { Bucket: BUCKET, Prefix: 'kops-prod/etcd/events/' }).resolves({
      Contents: [
        { Key: events, Size: 2048 },
        { Key: events.replace(/\.db$/, '.json'), Size: 700 },
      ],
      IsTruncated: false,
    });
    // S3 lists the events series under the main prefix too: the main line must skip it
    s3.on(ListObjectsV2Command, { Bucket: BUCKET, Prefix: 'kops-prod/etcd/' }).resolves({
      Contents: [{ Key: events, Size: 2048 }],
      IsTruncated: false,
    });
    s3.on(GetObjectTaggingCommand, { Key: events }).resolves({
      TagSet: [{ Key: 'caretaker:verified', Value: 'false' }],
    });

    const out = await run(['status', 'kops-prod'], {
      cwd: kopsConfig({ backup: { source: 'caretaker' }, etcd: { events: true } }),
    });

    expect(out.code).toBe(0);
    expect(out.stdout).toContain(
      `events    s3://${BUCKET}/${events}\n` +
        '  taken     2024-05-01T09:00:12Z (59m 48s ago), revision 812\n' +
        '  size      2.0 KiB\n' +
        '  verified  NO: a restore of it failed a check\n',
    );
    expect(out.stdout).not.toContain('etcd-manager takes');
    // the main snapshot line never shows the events series' snapshot
    expect(out.stdout).toContain(`snapshot  none under s3://${BUCKET}/kops-prod/etcd/\n`);
  });

  it('shows nothing more for a kubeadm cluster', async () => {
    const out = await run(['status', 'prod-eu', '--json']);

    expect(JSON.parse(out.stdout)).not.toHaveProperty('kops');
  });
});
