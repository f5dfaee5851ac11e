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

describe('the kops sandbox with backup.source caretaker', () => {
  let sandbox: Sandbox;

  beforeAll(async () => {
    sandbox = await Sandbox.start({ keys: 500, kind: 'kops', backupSource: 'caretaker' });
  });

  afterAll(async () => {
    await sandbox?.stop();
  });

  it("snapshots through etcd-manager's main container, never the events one, and verifies the snapshot", async () => {
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
    const text = (await Promise.all(calls.map((f) => readFile(f, 'utf8')))).join('');
    expect(text).toContain('pods\t--name\t^etcd-manager-main-');
    expect(text).toContain(`/opt/etcd-v${sandbox.kops!.etcdVersion}/usr/local/bin/etcdctl`);
    // the events pod and its container (pod-events, ctr-events) never come up for main
    expect(text).not.toMatch(/etcd-manager-events|pod-events|ctr-events/);

    const verify = await sandbox.run('restore-verify');
    expect(verify.status).toBe('SUCCEEDED');
    expect((verify.output as { recorded: { key: string; verified: boolean } }).recorded).toMatchObject({
      key: snapshot.key,
      verified: true,
    });
  });
});
