import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { GetObjectCommand, GetObjectTaggingCommand, ListObjectsV2Command } from '@aws-sdk/client-s3';
import { restoreSnapshot } from '../../sandbox/etcd-cluster';
import { Sandbox } from '../../sandbox/sandbox';

jest.setTimeout(120_000);

let sandbox: Sandbox;
let pids: number[] = [];
let ports: number[] = [];

beforeAll(async () => {
  sandbox = await Sandbox.start({ keys: 2000 });
  pids = sandbox.pids;
  const ep = sandbox.endpoints();
  ports = [...ep.etcd, ep.s3, ep.dynamodb].map((u) => Number(new URL(u).port));
});

afterAll(async () => {
  await sandbox?.stop();
});

async function objectKeys(): Promise<string[]> {
  const out = await sandbox.s3
    .client()
    .send(new ListObjectsV2Command({ Bucket: sandbox.endpoints().bucket }));
  return (out.Contents ?? []).map((o) => o.Key!).sort();
}

describe('the sandbox', () => {
  it('runs a backup whose snapshot restores to the seeded key counts and revision', async () => {
    const result = await sandbox.run('etcd-backup');

    expect(result.status).toBe('SUCCEEDED');
    expect(sandbox.notifier.messages.at(-1)?.attributes.outcome).toBe('Succeeded');
    const snapshot = (result.output as { snapshot: { key: string; revision: number; totalKeys: number } })
      .snapshot;
    const dir = await mkdtemp(join(tmpdir(), 'caretaker-sandbox-restore-'));
    try {
      const file = join(dir, 'snapshot.db');
      const object = await sandbox.s3
        .client()
        .send(new GetObjectCommand({ Bucket: sandbox.endpoints().bucket, Key: snapshot.key }));
      await pipeline(object.Body as Readable, createWriteStream(file));
      const restored = await restoreSnapshot(file, join(dir, 'restore'));
      try {
        expect(await restored.client.registryKeyCounts()).toEqual(sandbox.seeded);
        expect(await restored.client.revision()).toBe(snapshot.revision);
      } finally {
        await restored.stop();
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    // the status commands went to every member, through the real completion handler
    expect(sandbox.fleet.commands.filter((c) => c.documentName === 'etcd-status')).toHaveLength(3);
    expect(sandbox.broker.pending).toBe(0);
  });

  it('ends Skipped and writes nothing while another operation holds the lock', async () => {
    const before = await objectKeys();
    const now = new Date();
    await sandbox.locks.acquire({
      cluster: 'sandbox',
      owner: 'someone-else',
      operation: 'patch-workers',
      acquiredAt: now.toISOString(),
      expiresAt: new Date(now.getTime() + 600_000).toISOString(),
    });
    const commandsBefore = sandbox.fleet.commands.length;
    try {
      const result = await sandbox.run('etcd-backup');

      expect(result.status).toBe('SUCCEEDED');
      expect(sandbox.notifier.messages.at(-1)?.attributes.outcome).toBe('Skipped');
      expect(sandbox.notifier.messages.at(-1)?.message).toMatch(/held by patch-workers \(someone-else\)/);
      expect(sandbox.fleet.commands.length).toBe(commandsBefore);
      expect(await objectKeys()).toEqual(before);
    } finally {
      await sandbox.locks.release('sandbox', 'someone-else');
    }
  });

  it('still backs up from another member when one etcd member dies mid-run', async () => {
    let killed: string | undefined;
    sandbox.hooks.beforeCommand = async (record, sb) => {
      // the first health check of this run: stop that node's etcd member before it answers
      if (killed === undefined && record.documentName === 'etcd-status') {
        killed = record.instanceId;
        const index = Number(record.instanceId.slice(-1)) - 1;
        await sb.etcd.stopMember(index);
      }
    };
    try {
      const result = await sandbox.run('etcd-backup');

      expect(result.status).toBe('SUCCEEDED');
      const snapshot = (result.output as { snapshot: { instanceId: string } }).snapshot;
      expect(killed).toBeDefined();
      expect(snapshot.instanceId).not.toBe(killed);
      const statuses = (result.output as { statuses: { instanceId: string; healthy?: boolean }[] }).statuses;
      expect(statuses.find((s) => s.instanceId === killed)?.healthy).toBe(false);
    } finally {
      sandbox.hooks.beforeCommand = undefined;
    }
  });

  it('verifies the newest backup on a scratch node, tags it verified and terminates the node', async () => {
    const result = await sandbox.run('restore-verify');

    expect(result.status).toBe('SUCCEEDED');
    const recorded = (
      result.output as { recorded: { key: string; verified: boolean; restoreSeconds: number } }
    ).recorded;
    expect(recorded.verified).toBe(true);
    expect(recorded.restoreSeconds).toBeGreaterThan(0);
    const tags = await sandbox.s3
      .client()
      .send(new GetObjectTaggingCommand({ Bucket: sandbox.endpoints().bucket, Key: recorded.key }));
    expect(tags.TagSet).toContainEqual({ Key: 'caretaker:verified', Value: 'true' });
    expect(await objectKeys()).toContain(recorded.key.replace(/\.db$/, '.verification.json'));
    const [launched] = sandbox.fleet.launches;
    expect(sandbox.fleet.terminated).toEqual([launched!.instanceId]);
    expect(await sandbox.fleet.listScratch()).toEqual([]);
  });

  it('fails and still terminates a scratch node that never reaches SSM, leaving the snapshot unjudged', async () => {
    await sandbox.run('etcd-backup');
    sandbox.fleet.scratchComesOnline = false;
    try {
      const result = await sandbox.run('restore-verify');

      expect(result.status).toBe('FAILED');
      expect(result.error?.Error).toBe('ScratchNotReadyError');
      expect(await sandbox.fleet.listScratch()).toEqual([]);
      expect(sandbox.fleet.commands.at(-1)?.documentName).not.toBe('etcd-restore-verify');
      expect(sandbox.notifier.messages.at(-1)?.attributes.outcome).toBe('Failed');
    } finally {
      sandbox.fleet.scratchComesOnline = true;
    }
  });

  it('prunes by retention around the snapshot restore-verify marked verified', async () => {
    const dbKeys = async () => (await objectKeys()).filter((k) => k.endsWith('.db'));
    const verifiedKey = sandbox.fleet.commands
      .filter((c) => c.documentName === 'etcd-restore-verify')
      .map((c) => c.parameters.Key!)[0]!;
    const oldest = (await dbKeys())[0]!;
    expect(oldest < verifiedKey).toBe(true);

    // the sandbox keeps the last 3; the verified snapshot and everything newer stay regardless
    type Pruned = { pruned: { deleted: string[]; newestVerified: string } };
    const first = ((await sandbox.run('etcd-backup')).output as Pruned).pruned;
    const second = ((await sandbox.run('etcd-backup')).output as Pruned).pruned;

    expect(first.newestVerified).toBe(verifiedKey);
    expect(first.deleted).toEqual([oldest]);
    // now the verified snapshot is 4th newest, past keep-last 3, and still kept
    expect(second.deleted).toEqual([]);
    const left = await dbKeys();
    expect(left).toContain(verifiedKey);
    expect(left.every((k) => k >= verifiedKey)).toBe(true);
    expect(await objectKeys()).not.toContain(oldest.replace(/\.db$/, '.json'));
  });

  it('leaves no process running and nothing listening once stopped', async () => {
    await sandbox.stop();

    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    for (const port of ports) {
      const refused = await new Promise<boolean>((resolve) => {
        const socket = connect({ host: '127.0.0.1', port });
        socket.once('connect', () => {
          socket.destroy();
          resolve(false);
        });
        socket.once('error', () => resolve(true));
      });
      expect(refused).toBe(true);
    }
  });
});
