import { dynamoCommandTokenStore } from '../../functions/shared/adapters/aws/dynamo-command-token-store';
import { dynamoLockStore } from '../../functions/shared/adapters/aws/dynamo-lock-store';
import { intentId, sendCommand } from '../../functions/send-command/service';
import { TransientError } from '../../functions/shared/errors';
import type { CommandIntent, Lease } from '../../functions/shared/ports';
import { startDynalite, type LocalDynamo } from '../../sandbox/dynalite';
import { fakeRunner, fixedClock, staticDirectory, staticInventory } from '../support/fakes';

let db: LocalDynamo;

beforeAll(async () => {
  db = await startDynalite();
  await db.createTable('locks');
  await db.createTable('tokens');
  await db.createTable('intents');
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
      heldBy: { ...first, scope: 'control-plane' },
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

describe('lock scopes against the DynamoDB protocol', () => {
  const at = '2026-11-25T06:00:00.000Z';
  const until = '2026-11-25T10:00:00.000Z';

  it('lets a backup take the control-plane scope while worker patching holds the worker scope', async () => {
    const locks = dynamoLockStore('locks', db.doc);
    expect(await locks.acquire({ ...lease('patch', at, until, 'e'), scopes: ['workers'] })).toEqual({
      acquired: true,
    });

    const backup = await locks.acquire({ ...lease('backup', at, until, 'e'), scopes: ['control-plane'] });

    expect(backup).toEqual({ acquired: true });
  });

  it('refuses an upgrade that needs both scopes and leaves the free one free', async () => {
    const locks = dynamoLockStore('locks', db.doc);
    await locks.acquire({ ...lease('patch', at, until, 'f'), scopes: ['workers'] });

    const upgrade = await locks.acquire({
      ...lease('upgrade', at, until, 'f'),
      scopes: ['control-plane', 'workers'],
    });

    expect(upgrade).toMatchObject({ acquired: false, heldBy: { scope: 'workers', owner: 'patch' } });
    expect((await locks.holders('f', ['control-plane']))[0]).toBeUndefined();
  });

  it('renews only an own lease that has not lapsed', async () => {
    const locks = dynamoLockStore('locks', db.doc);
    await locks.acquire({ ...lease('x', at, '2026-11-25T06:10:00.000Z', 'g'), scopes: ['workers'] });

    const inTime = await locks.renew({
      ...lease('x', '2026-11-25T06:05:00.000Z', '2026-11-25T07:00:00.000Z', 'g'),
      scopes: ['workers'],
    });
    const late = await locks.renew({
      ...lease('x', '2026-11-25T07:00:01.000Z', '2026-11-25T08:00:00.000Z', 'g'),
      scopes: ['workers'],
    });
    const other = await locks.renew({
      ...lease('y', '2026-11-25T06:06:00.000Z', '2026-11-25T08:00:00.000Z', 'g'),
      scopes: ['workers'],
    });

    expect(inTime).toEqual({ renewed: true });
    expect(late).toMatchObject({ renewed: false, scope: 'workers', heldBy: { owner: 'x' } });
    expect(other).toMatchObject({ renewed: false, heldBy: { owner: 'x' } });
  });
});

describe('command intents against the DynamoDB protocol', () => {
  const intent = (id: string, claimedAt = '2026-11-25T06:00:00.000Z'): CommandIntent => ({
    id,
    executionId: 'exec-1',
    state: 'Take the snapshot on the picked member',
    subject: 'i-0a1b2c3d4e5f60001',
    command: 'etcd-snapshot',
    instanceId: 'i-0a1b2c3d4e5f60001',
    cluster: 'prod-eu',
    claimedAt,
  });
  const stale = '2026-11-25T05:58:00.000Z';

  it('claims a new intent once; a second claim sees it in flight, then sent', async () => {
    const tokens = dynamoCommandTokenStore('intents', db.doc);

    const first = await tokens.claim(intent('a'), stale);
    const again = await tokens.claim(intent('a', '2026-11-25T06:00:10.000Z'), stale);
    await tokens.recordSent('a', 'cmd-1');
    const afterSend = await tokens.claim(intent('a', '2026-11-25T06:00:20.000Z'), stale);

    expect(first).toEqual({ outcome: 'new' });
    expect(again).toEqual({ outcome: 'in-flight', previous: intent('a') });
    expect(afterSend).toEqual({ outcome: 'sent', commandId: 'cmd-1' });
  });

  it('hands an abandoned, unsent claim to exactly one of many later attempts', async () => {
    const tokens = dynamoCommandTokenStore('intents', db.doc);
    await tokens.claim(intent('b', '2026-11-25T05:00:00.000Z'), stale);

    const claims = await Promise.all(
      Array.from({ length: 8 }, (_, i) => tokens.claim(intent('b', `2026-11-25T06:0${i}:00.000Z`), stale)),
    );

    expect(claims.filter((c) => c.outcome === 'taken-over')).toHaveLength(1);
    expect(claims.filter((c) => c.outcome === 'new')).toHaveLength(0);
  });

  it('grants exactly one of many concurrent first claims', async () => {
    const tokens = dynamoCommandTokenStore('intents', db.doc);

    const claims = await Promise.all(Array.from({ length: 8 }, () => tokens.claim(intent('c'), stale)));

    expect(claims.filter((c) => c.outcome === 'new')).toHaveLength(1);
  });

  it('sends once when recording the send fails and send-command is retried', async () => {
    const tokens = dynamoCommandTokenStore('intents', db.doc);
    const failingOnce = {
      ...tokens,
      recordSent: jest.fn().mockRejectedValueOnce(new TransientError('DynamoDB UpdateItem: 500')),
    };
    failingOnce.recordSent.mockImplementation(tokens.recordSent);
    const runner = fakeRunner();
    const d = {
      clusters: staticDirectory(),
      inventory: staticInventory([{ instanceId: 'i-0a1b2c3d4e5f60001' }]),
      runner,
      clock: fixedClock(),
      documents: { 'etcd-snapshot': 'Caretaker-EtcdSnapshot' },
      bucket: 'snaps',
    };
    const request = {
      taskToken: 'token-1',
      cluster: 'prod-eu',
      instanceId: 'i-0a1b2c3d4e5f60001',
      command: 'etcd-snapshot',
      executionId: 'exec-dynalite',
      state: 'Take the snapshot on the picked member',
    };
    await expect(sendCommand(request, { ...d, tokens: failingOnce })).rejects.toThrow(TransientError);

    const retried = await sendCommand({ ...request, taskToken: 'token-2' }, { ...d, tokens: failingOnce });

    expect(runner.sent).toHaveLength(1);
    expect(retried.duplicate).toBe(true);
    expect((await tokens.list()).map((p) => [p.commandId, p.taskToken])).toEqual([
      [retried.commandId, 'token-2'],
    ]);
    const again = await tokens.claim(
      {
        ...intent(intentId(request.executionId, request.state, request.instanceId)),
        executionId: 'exec-dynalite',
      },
      stale,
    );
    expect(again).toEqual({ outcome: 'sent', commandId: retried.commandId });
  });

  it("sends once when the Lambda's answer is lost after a successful send and store", async () => {
    const tokens = dynamoCommandTokenStore('intents', db.doc);
    const runner = fakeRunner();
    const d = {
      clusters: staticDirectory(),
      inventory: staticInventory([{ instanceId: 'i-0a1b2c3d4e5f60001' }]),
      runner,
      tokens,
      clock: fixedClock(),
      documents: { 'etcd-status': 'Caretaker-EtcdStatus' },
      bucket: 'snaps',
    };
    const request = {
      taskToken: 'token-1',
      cluster: 'prod-eu',
      instanceId: 'i-0a1b2c3d4e5f60001',
      command: 'etcd-status',
      executionId: 'exec-lost-answer',
      state: 'Ask the member for its etcd status',
    };
    const first = await sendCommand(request, d);

    const retried = await sendCommand({ ...request, taskToken: 'token-2' }, d);

    expect(runner.sent).toHaveLength(1);
    expect(retried).toEqual({ commandId: first.commandId, duplicate: true });
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
