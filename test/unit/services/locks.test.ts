import { acquireLock, releaseLock } from '../../../functions/acquire-lock/service';
import { LeaseLostError } from '../../../functions/shared/errors';
import { fixedClock, memoryLocks } from '../../support/fakes';

const BACKUP = 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-etcd-backup:hourly';
const PATCH = 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-patch-workers:nightly';
const UPGRADE = 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-upgrade-control-plane:v1-35';

const backup = { cluster: 'prod-eu', owner: BACKUP, operation: 'etcd-backup', leaseSeconds: 7200 };
const patch = {
  cluster: 'prod-eu',
  owner: PATCH,
  operation: 'patch-workers',
  leaseSeconds: 14_400,
  scopes: ['workers' as const],
};
const upgrade = {
  cluster: 'prod-eu',
  owner: UPGRADE,
  operation: 'upgrade-control-plane',
  leaseSeconds: 14_400,
  scopes: ['control-plane' as const, 'workers' as const],
};
const deps = () => ({ locks: memoryLocks(), clock: fixedClock() });

describe('lock scopes', () => {
  it('lets a backup run while worker patching holds the worker scope', async () => {
    const d = deps();
    await acquireLock(patch, d);

    const out = await acquireLock({ ...backup, scopes: ['control-plane'] }, d);

    expect(out).toMatchObject({ acquired: true, owner: BACKUP });
  });

  it('refuses a control-plane upgrade while a backup holds the control-plane scope, taking nothing', async () => {
    const d = deps();
    await acquireLock({ ...backup, scopes: ['control-plane'] }, d);

    const out = await acquireLock(upgrade, d);

    expect(out).toMatchObject({ acquired: false, heldBy: { owner: BACKUP, scope: 'control-plane' } });
    expect((await d.locks.holders('prod-eu', ['workers']))[0]).toBeUndefined();
  });

  it('refuses a control-plane upgrade while worker patching holds the worker scope', async () => {
    const d = deps();
    await acquireLock(patch, d);

    const out = await acquireLock(upgrade, d);

    expect(out).toMatchObject({ acquired: false, heldBy: { owner: PATCH, scope: 'workers' } });
  });

  it('refuses both a backup and worker patching while an upgrade holds the cluster', async () => {
    const d = deps();
    await acquireLock(upgrade, d);

    expect(await acquireLock({ ...backup, scopes: ['control-plane'] }, d)).toMatchObject({ acquired: false });
    expect(await acquireLock(patch, d)).toMatchObject({ acquired: false });
  });

  it('takes every scope when none is named, and releases every scope the owner holds', async () => {
    const d = deps();
    await acquireLock(backup, d);

    expect(await acquireLock(patch, d)).toMatchObject({ acquired: false });
    expect(await releaseLock({ cluster: 'prod-eu', owner: BACKUP }, d)).toEqual({ released: true });
    expect(d.locks.leases.size).toBe(0);
  });
});

describe('lease renewal', () => {
  it('extends our own lease before the next change', async () => {
    const d = deps();
    await acquireLock(patch, d);
    d.clock.set('2026-11-25T09:00:00.000Z');

    const out = await acquireLock({ ...patch, renew: true }, d);

    expect(out).toEqual({ acquired: true, owner: PATCH, expiresAt: '2026-11-25T13:00:00.000Z' });
    expect((await d.locks.holders('prod-eu', ['workers']))[0]?.expiresAt).toBe('2026-11-25T13:00:00.000Z');
  });

  it('fails with LeaseLostError naming the holder when someone took the lapsed lease', async () => {
    const d = deps();
    await acquireLock({ ...patch, leaseSeconds: 600 }, d);
    d.clock.set('2026-11-25T06:20:00.000Z');
    await acquireLock({ ...patch, owner: 'someone-else' }, d);

    const renewing = acquireLock({ ...patch, renew: true }, d);

    await expect(renewing).rejects.toThrow(LeaseLostError);
    await expect(acquireLock({ ...patch, renew: true }, d)).rejects.toThrow(
      /workers lease of prod-eu is no longer held by .*: it is held by patch-workers \(someone-else\)/,
    );
  });

  it('fails with LeaseLostError when our lease lapsed, even if nobody took it', async () => {
    const d = deps();
    await acquireLock({ ...patch, leaseSeconds: 600 }, d);
    d.clock.set('2026-11-25T06:20:00.000Z');

    await expect(acquireLock({ ...patch, renew: true }, d)).rejects.toThrow(
      /it lapsed at 2026-11-25T06:10:00/,
    );
  });

  it('never takes a free lease when renewing', async () => {
    const d = deps();

    await expect(acquireLock({ ...patch, renew: true }, d)).rejects.toThrow(/nobody holds it/);
    expect(d.locks.leases.size).toBe(0);
  });
});

describe("a nested execution under its parent's lease", () => {
  it("proceeds under the parent's lease instead of ending Skipped", async () => {
    const d = deps();
    await acquireLock(upgrade, d);

    const out = await acquireLock({ ...backup, scopes: ['control-plane'], parentOwner: UPGRADE }, d);

    expect(out).toEqual({
      acquired: true,
      owner: UPGRADE,
      expiresAt: '2026-11-25T10:00:00.000Z',
      underParent: true,
    });
  });

  it("releases nothing of the parent's when the child releases with its own id", async () => {
    const d = deps();
    await acquireLock(upgrade, d);
    await acquireLock({ ...backup, scopes: ['control-plane'], parentOwner: UPGRADE }, d);

    expect(await releaseLock({ cluster: 'prod-eu', owner: BACKUP }, d)).toEqual({ released: false });
    expect(d.locks.leases.size).toBe(2);
  });

  it('fails with LeaseLostError when the parent does not hold the scope the child needs', async () => {
    const d = deps();
    await acquireLock(patch, d);

    const joining = acquireLock({ ...backup, scopes: ['control-plane'], parentOwner: PATCH }, d);

    await expect(joining).rejects.toThrow(LeaseLostError);
    await expect(
      acquireLock({ ...backup, scopes: ['control-plane'], parentOwner: PATCH }, d),
    ).rejects.toThrow(/does not hold the control-plane lease of prod-eu \(free\)/);
  });

  it("fails with LeaseLostError when the parent's lease has lapsed", async () => {
    const d = deps();
    await acquireLock({ ...upgrade, leaseSeconds: 600 }, d);
    d.clock.set('2026-11-25T07:00:00.000Z');

    await expect(
      acquireLock({ ...backup, scopes: ['control-plane'], parentOwner: UPGRADE }, d),
    ).rejects.toThrow(LeaseLostError);
  });
});
