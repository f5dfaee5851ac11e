/**
 * `npm run sandbox -- --kind kops`: kops control-plane nodes (etcd inside etcd-manager-main and
 * etcd-manager-events containers, played by the crictl stand-in over real etcd) and a kops state
 * store in the local S3 with etcd-manager-layout backups of the sandbox's real etcd. Both backup
 * sources, end to end through the real state machines and handlers.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { GetObjectCommand, HeadObjectCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { Sandbox } from '../../sandbox/sandbox';
import { STATE_STORE_BUCKET } from '../../sandbox/kops';

jest.setTimeout(180_000);

async function keysIn(sandbox: Sandbox, bucket: string): Promise<string[]> {
  const out = await sandbox.s3.client().send(new ListObjectsV2Command({ Bucket: bucket }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

describe('the kops sandbox with backup.source etcd-manager (the kops default)', () => {
  let sandbox: Sandbox;
  let stateStoreBefore: string[];

  beforeAll(async () => {
    sandbox = await Sandbox.start({ keys: 500, kind: 'kops' });
    stateStoreBefore = await keysIn(sandbox, STATE_STORE_BUCKET);
  });

  afterAll(async () => {
    await sandbox?.stop();
  });

  it("holds etcd-manager's backups of main and events in the state store, as etcd-manager lays them out", () => {
    expect(stateStoreBefore).toHaveLength(6);
    for (const key of sandbox.kops!.backups.main) {
      expect(key).toMatch(
        /^kops\/sandbox\.k8s\.local\/backups\/etcd\/main\/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ-\d{6}\/etcd\.backup\.gz$/,
      );
      expect(stateStoreBefore).toContain(key.replace(/etcd\.backup\.gz$/, '_etcd_backup.meta'));
    }
    expect(sandbox.kops!.backups.events).toHaveLength(1);
  });

  it('takes no snapshot: the backup run is Skipped and says etcd-manager takes the backups', async () => {
    const result = await sandbox.run('etcd-backup');

    expect(result.status).toBe('SUCCEEDED');
    const last = sandbox.notifier.messages.at(-1);
    expect(last?.attributes.outcome).toBe('Skipped');
    expect(last?.message).toContain("etcd-manager takes this cluster's backups into the kops state store");
    expect(sandbox.fleet.commands.filter((c) => c.documentName === 'etcd-snapshot')).toHaveLength(0);
    expect(await keysIn(sandbox, sandbox.endpoints().bucket)).toEqual([]);
  });

  it("verifies etcd-manager's newest backup and records it in Caretaker's bucket, leaving the state store untouched", async () => {
    const result = await sandbox.run('restore-verify');

    expect(result.status).toBe('SUCCEEDED');
    const newest = sandbox.kops!.backups.main.at(-1)!;
    const recorded = (result.output as { recorded: { key: string; verified: boolean; reportKey: string } })
      .recorded;
    expect(recorded).toMatchObject({ key: newest, verified: true });
    expect(recorded.reportKey).toMatch(/^sandbox\/etcd-manager\/main\/.+\.verification\.json$/);
    expect(await keysIn(sandbox, sandbox.endpoints().bucket)).toEqual([recorded.reportKey]);
    expect(await keysIn(sandbox, STATE_STORE_BUCKET)).toEqual(stateStoreBefore);
    const head = await sandbox.s3
      .client()
      .send(new HeadObjectCommand({ Bucket: STATE_STORE_BUCKET, Key: newest }));
    expect(head.Metadata ?? {}).toEqual({});
    const verified = sandbox.metrics.records.filter(([, m]) => 'Verified' in m);
    expect(verified.at(-1)?.[1]).toMatchObject({ Verified: { value: 1, unit: 'Count' } });

    // the next run finds nothing new to judge
    const again = await sandbox.run('restore-verify');
    expect(again.status).toBe('SUCCEEDED');
    expect(sandbox.notifier.messages.at(-1)?.attributes.outcome).toBe('Skipped');
  });
});

describe('the kops sandbox with backup.source caretaker and the events etcd as a second series', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await Sandbox.start({ keys: 500, kind: 'kops', backupSource: 'caretaker', kopsEvents: true });
  });

  afterAll(async () => {
    await sandbox?.stop();
  });

  it("snapshots main through etcd-manager's main container and events through the events one, never crossed, and verifies both", async () => {
    const backup = await sandbox.run('etcd-backup');
    expect(backup.status).toBe('SUCCEEDED');
    const snapshot = (backup.output as { snapshot: { key: string } }).snapshot;
    expect(snapshot.key).toMatch(/^sandbox\/etcd\/.+\.db$/);
    const manifest = JSON.parse(
      await (
        await sandbox.s3.client().send(
          new GetObjectCommand({
            Bucket: sandbox.endpoints().bucket,
            Key: snapshot.key.replace(/\.db$/, '.json'),
          }),
        )
      ).Body!.transformToString(),
    ) as { keyCounts: Record<string, number> };
    expect(manifest.keyCounts.namespaces).toBeGreaterThan(0);

    const calls = [0, 1, 2].map((i) => sandbox.kops!.crictlLog(i)).filter((f) => existsSync(f));
    expect(calls.length).toBeGreaterThan(0);
    // per node: the member's status, the main snapshot, then (on the picked node) the events pass,
    // which starts at its pod lookup; before it the events pod and container never come up
    const logs = await Promise.all(calls.map((f) => readFile(f, 'utf8')));
    const eventsStart = '\npods\t--name\t^etcd-manager-events-';
    const forMain = logs.map((l) => ('\n' + l).split(eventsStart)[0]!).join('');
    const forEvents = logs
      .filter((l) => ('\n' + l).includes(eventsStart))
      .map((l) => ('\n' + l).slice(('\n' + l).indexOf(eventsStart)));
    expect(forMain).toContain('pods\t--name\t^etcd-manager-main-');
    expect(forMain).toContain(`/opt/etcd-v${sandbox.kops!.etcdVersion}/usr/local/bin/etcdctl`);
    expect(forMain).not.toMatch(/etcd-manager-events|pod-events|ctr-events/);
    // the events pass runs on the picked node only, and only in the events container
    expect(forEvents).toHaveLength(1);
    expect(forEvents[0]).not.toMatch(/etcd-manager-main|pod-main|ctr-main/);
    expect(forEvents[0]).toContain('exec\tctr-events\t');

    // the events series: its own key and manifest kind, from the events etcd
    const events = (backup.output as { eventsSnapshot: { key: string } }).eventsSnapshot;
    expect(events.key).toMatch(/^sandbox\/etcd\/events\/.+\.db$/);
    const eventsManifest = JSON.parse(
      await (
        await sandbox.s3.client().send(
          new GetObjectCommand({
            Bucket: sandbox.endpoints().bucket,
            Key: events.key.replace(/\.db$/, '.json'),
          }),
        )
      ).Body!.transformToString(),
    ) as { kind: string; keyCounts: Record<string, number> };
    expect(eventsManifest).toMatchObject({ kind: 'etcd-events', keyCounts: { events: 2 } });

    const verify = await sandbox.run('restore-verify');
    expect(verify.status).toBe('SUCCEEDED');
    expect((verify.output as { recorded: { key: string; verified: boolean } }).recorded).toMatchObject({
      key: snapshot.key,
      verified: true,
    });

    // the next run takes the events series: judged by its /registry/events keys
    const verifyEvents = await sandbox.run('restore-verify');
    expect(verifyEvents.status).toBe('SUCCEEDED');
    expect((verifyEvents.output as { recorded: { key: string; verified: boolean } }).recorded).toMatchObject({
      key: events.key,
      verified: true,
    });
  });
});
