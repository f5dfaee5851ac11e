import { dynamoRemediationLedger } from '../../functions/shared/adapters/aws/dynamo-remediation-ledger';
import type { AttemptRequest } from '../../functions/shared/ports';
import { startDynalite, type LocalDynamo } from '../../sandbox/dynalite';

let db: LocalDynamo;

beforeAll(async () => {
  db = await startDynalite();
  await db.createTable('ledger');
});

afterAll(async () => {
  await db.stop();
});

const request = (resource: string, now: string): AttemptRequest => ({
  cluster: 'prod-eu',
  route: 'etcd-db-size',
  resource,
  now: new Date(now),
  cooldownMinutes: 60,
  maxAttemptsPerDay: 2,
});

describe('dynamoRemediationLedger against the DynamoDB protocol', () => {
  it('lets exactly one of two simultaneous claims through', async () => {
    const ledger = dynamoRemediationLedger('ledger', db.doc);
    const verdicts = await Promise.all([
      ledger.claim(request('race', '2026-11-30T03:00:00Z')),
      ledger.claim(request('race', '2026-11-30T03:00:00Z')),
    ]);
    expect(verdicts.filter((v) => v.allowed)).toHaveLength(1);
    expect(verdicts.filter((v) => !v.allowed)).toEqual([expect.objectContaining({ rule: 'cooldown' })]);
  });

  it('refuses inside the cooldown, counts after it, and stops at the daily limit', async () => {
    const ledger = dynamoRemediationLedger('ledger', db.doc);
    expect(await ledger.claim(request('a', '2026-11-30T01:00:00Z'))).toEqual({ allowed: true, attempt: 1 });
    expect(await ledger.claim(request('a', '2026-11-30T01:30:00Z'))).toMatchObject({
      allowed: false,
      rule: 'cooldown',
    });
    expect(await ledger.claim(request('a', '2026-11-30T02:00:00Z'))).toEqual({ allowed: true, attempt: 2 });
    expect(await ledger.claim(request('a', '2026-11-30T05:00:00Z'))).toMatchObject({
      allowed: false,
      rule: 'max-attempts-per-day',
    });
    expect(await ledger.read('prod-eu', 'etcd-db-size', 'a')).toEqual({
      lastAttemptAt: '2026-11-30T02:00:00.000Z',
      day: '2026-11-30',
      attemptsToday: 2,
    });
    expect(await ledger.claim(request('a', '2026-12-01T00:10:00Z'))).toEqual({ allowed: true, attempt: 1 });
  });

  it('keeps resources apart', async () => {
    const ledger = dynamoRemediationLedger('ledger', db.doc);
    expect(await ledger.claim(request('b', '2026-11-30T01:00:00Z'))).toMatchObject({ allowed: true });
    expect(await ledger.claim(request('c', '2026-11-30T01:00:00Z'))).toMatchObject({ allowed: true });
  });
});
