import { dynamoCommandTokenStore } from '../../functions/shared/adapters/aws/dynamo-command-token-store';
import { dynamoLockStore } from '../../functions/shared/adapters/aws/dynamo-lock-store';
import type { Lease } from '../../functions/shared/ports';
import { startDynalite, type LocalDynamo } from '../../sandbox/dynalite';

let db: LocalDynamo;

beforeAll(async () => {
  db = await startDynalite();
  await db.createTable('locks');
  await db.createTable('tokens');
});

afterAll(async () => {
  await db.stop();
});

const lease = (owner: string, at: string, until: string, cluster = 'prod-eu'): Lease => ({
  cluster,
  owner,
  operation: 'etcd-backup',
  acquiredAt: at,
  expiresAt: until,
});

describe('dynamoLockStore against the DynamoDB protocol', () => {
  it('grants one owner, refuses another naming the holder, and lets the owner re-take its own lease', async () => {
    const locks = dynamoLockStore('locks', db.doc);
    const first = lease('exec-1', '2026-11-25T06:00:00.000Z', '2026-11-25T08:00:00.000Z', 'a');
    expect(await locks.acquire(first)).toEqual({ acquired: true });
    expect(
      await locks.acquire(lease('exec-2', '2026-11-25T06:10:00.000Z', '2026-11-25T08:10:00.000Z', 'a')),
    ).toEqual({
      acquired: false,
      heldBy: first,
    });
    expect(
      await locks.acquire(lease('exec-1', '2026-11-25T06:20:00.000Z', '2026-11-25T08:20:00.000Z', 'a')),
    ).toEqual({
      acquired: true,
    });
  });

  it('lets a stale lease be reclaimed once it has expired', async () => {
    const locks = dynamoLockStore('locks', db.doc);
    await locks.acquire(lease('exec-1', '2026-11-25T06:00:00.000Z', '2026-11-25T06:30:00.000Z', 'b'));
    expect(
      await locks.acquire(lease('exec-2', '2026-11-25T06:30:01.000Z', '2026-11-25T08:30:01.000Z', 'b')),
    ).toEqual({
      acquired: true,
    });
  });

  it('releases only for the owner', async () => {
    const locks = dynamoLockStore('locks', db.doc);
    await locks.acquire(lease('exec-1', '2026-11-25T06:00:00.000Z', '2026-11-25T08:00:00.000Z', 'c'));
    expect(await locks.release('c', 'exec-2')).toBe(false);
    expect(await locks.release('c', 'exec-1')).toBe(true);
    expect(await locks.release('c', 'exec-1')).toBe(false);
    expect(
      await locks.acquire(lease('exec-3', '2026-11-25T06:01:00.000Z', '2026-11-25T08:01:00.000Z', 'c')),
    ).toEqual({
      acquired: true,
    });
  });

  it('grants exactly one of many concurrent acquires', async () => {
    const locks = dynamoLockStore('locks', db.doc);
    const results = await Promise.all(
      Array.from({ length: 10 }, (_, i) =>
        locks.acquire(lease(`exec-${i}`, '2026-11-25T06:00:00.000Z', '2026-11-25T08:00:00.000Z', 'd')),
      ),
    );
    expect(results.filter((r) => r.acquired)).toHaveLength(1);
  });
});

describe('dynamoCommandTokenStore against the DynamoDB protocol', () => {
  const pending = (commandId: string) => ({
    commandId,
    instanceId: 'i-0a1b2c3d4e5f60001',
    taskToken: `token-${commandId}`,
    cluster: 'prod-eu',
    command: 'etcd-snapshot',
    sentAt: '2026-11-25T06:00:00.000Z',
    deadline: '2026-11-25T06:55:00.000Z',
  });

  it('lists parked tokens and hands each to exactly one taker', async () => {
    const tokens = dynamoCommandTokenStore('tokens', db.doc);
    await tokens.put(pending('c-1'));
    await tokens.put(pending('c-2'));
    await dynamoLockStore('tokens', db.doc).acquire(
      lease('x', '2026-11-25T06:00:00.000Z', '2026-11-25T07:00:00.000Z'),
    );

    expect((await tokens.list()).map((p) => p.commandId).sort()).toEqual(['c-1', 'c-2']);
    const takes = await Promise.all([
      tokens.take('c-1', 'i-0a1b2c3d4e5f60001'),
      tokens.take('c-1', 'i-0a1b2c3d4e5f60001'),
    ]);
    expect(takes.filter(Boolean)).toEqual([pending('c-1')]);
    expect((await tokens.list()).map((p) => p.commandId)).toEqual(['c-2']);
  });
});
