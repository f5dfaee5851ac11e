import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkScratchReady } from '../../../functions/check-scratch-ready/service';
import { sendCommand } from '../../../functions/send-command/service';
import { launchScratch } from '../../../functions/launch-scratch/service';
import { executionName } from '../../../functions/shared/domain/execution-name';
import { SCRATCH_READY_MAX_CHECKS, scratchClientToken } from '../../../functions/shared/domain/scratch';
import { pickSnapshot } from '../../../functions/pick-snapshot/service';
import { recordVerification } from '../../../functions/record-verification/service';
import { reapScratch, terminateScratch } from '../../../functions/terminate-scratch/service';
import { parseConfig } from '../../../functions/shared/domain/config';
import { verificationResult } from '../../../functions/shared/domain/schemas';
import { InvalidInputError, ScratchGoneError } from '../../../functions/shared/errors';
import type { ScratchFleet, ScratchInstance, ScratchLaunch } from '../../../functions/shared/ports';
import {
  fakeRunner,
  fixedClock,
  memoryStore,
  memoryTokens,
  recordingMetrics,
  staticDirectory,
  staticInventory,
  testConfig,
} from '../../support/fakes';

const verified = verificationResult.parse(
  JSON.parse(readFileSync(join(__dirname, '../../../events/restore-verify/verified.json'), 'utf8')),
);
const KEY = verified.key; // prod-eu/etcd/2026/11/25/20261125T060012Z-r4711.db
const OLDER = 'prod-eu/etcd/2026/11/25/20261125T050012Z-r4000.db';

const clusters = () =>
  staticDirectory([
    ...testConfig(),
    ...parseConfig({
      clusters: [
        {
          name: 'lab',
          kind: 'kubeadm',
          region: 'eu-west-1',
          restoreVerify: {
            launchTemplate: 'lt-0123456789abcdef0',
            subnetId: 'subnet-0123456789abcdef0',
            scratchTtlMinutes: 60,
          },
        },
      ],
    }).clusters,
  ]);

function memoryFleet(
  instances: ScratchInstance[] = [],
): ScratchFleet & { launched: ScratchLaunch[]; terminated: string[] } {
  const launched: ScratchLaunch[] = [];
  const terminated: string[] = [];
  return {
    launched,
    terminated,
    async launch(req) {
      launched.push(req);
      return { instanceId: 'i-0badc0ffee0000001' };
    },
    async listScratch() {
      return instances.filter((i) => !terminated.includes(i.instanceId));
    },
    async terminate(id) {
      terminated.push(id);
    },
  };
}

describe('pickSnapshot', () => {
  const store = (tags: Record<string, string> = {}) =>
    memoryStore({
      [KEY]: { body: 'x', tags },
      [OLDER]: { body: 'y' },
      'prod-eu/etcd/notes.txt': { body: 'z' },
    });

  it('picks the newest snapshot while no verification has judged it', async () => {
    const out = await pickSnapshot(
      { cluster: 'prod-eu' },
      { clusters: staticDirectory(), store: store(), clock: fixedClock('2026-11-25T06:10:12Z') },
    );
    expect(out).toEqual({
      found: true,
      key: KEY,
      manifestKey: KEY.replace(/\.db$/, '.json'),
      takenAt: '2026-11-25T06:00:12.000Z',
      ageSeconds: 600,
    });
  });

  it('finds nothing to do when the newest snapshot was already judged, saying so', async () => {
    const out = await pickSnapshot(
      { cluster: 'prod-eu' },
      { clusters: staticDirectory(), store: store({ 'caretaker:verified': 'false' }), clock: fixedClock() },
    );
    expect(out).toEqual({
      found: false,
      reason: expect.stringMatching(/already verified \(caretaker:verified=false\)/),
    });
  });

  it('finds nothing when the cluster has no snapshot yet', async () => {
    const out = await pickSnapshot(
      { cluster: 'prod-eu' },
      { clusters: staticDirectory(), store: memoryStore(), clock: fixedClock() },
    );
    expect(out).toEqual({ found: false, reason: 'cluster prod-eu has no snapshot yet' });
  });

  it('takes a given key even when it is older or already judged', async () => {
    const out = await pickSnapshot(
      { cluster: 'prod-eu', key: OLDER },
      { clusters: staticDirectory(), store: store(), clock: fixedClock() },
    );
    expect(out).toMatchObject({ found: true, key: OLDER });
  });

  it.each([
    [
      'another cluster',
      'other/etcd/2026/11/25/20261125T060012Z-r4711.db',
      /is not a snapshot key of cluster prod-eu/,
    ],
    ['a manifest', KEY.replace(/\.db$/, '.json'), /is not a snapshot key/],
    [
      'a revision longer than the document allows',
      `prod-eu/etcd/2026/11/25/20261125T060012Z-r${'1'.repeat(20)}.db`,
      /is not a snapshot key/,
    ],
    ['a missing object', 'prod-eu/etcd/2026/11/24/20261124T060012Z-r1.db', /does not exist/],
  ])('rejects a given key of %s', async (_what, key, message) => {
    await expect(
      pickSnapshot(
        { cluster: 'prod-eu', key },
        { clusters: staticDirectory(), store: store(), clock: fixedClock() },
      ),
    ).rejects.toThrow(message);
  });
});

it('rejects a bad snapshot key before reading the cluster from Parameter Store', async () => {
  const clustersRead = staticDirectory();

  const picking = pickSnapshot(
    { cluster: 'prod-eu', key: 'prod-eu/etcd/../../other/secret.db' },
    { clusters: clustersRead, store: memoryStore(), clock: fixedClock() },
  );

  await expect(picking).rejects.toThrow(/key: .* is not a snapshot key of cluster prod-eu/);
  expect(clustersRead.get).not.toHaveBeenCalled();
});

describe('launchScratch', () => {
  it('launches from the cluster launch template with scratch tags, an expiry and an idempotency token', async () => {
    const fleet = memoryFleet();
    const out = await launchScratch(
      {
        cluster: 'lab',
        executionId: 'arn:aws:states:eu-west-1:1:execution:rv:restore-verify-lab-20261125T060000Z',
      },
      { clusters: clusters(), fleet, clock: fixedClock() },
    );
    expect(out).toEqual({ instanceId: 'i-0badc0ffee0000001', expiresAt: '2026-11-25T07:00:00.000Z' });
    expect(fleet.launched).toEqual([
      {
        cluster: 'lab',
        launchTemplate: 'lt-0123456789abcdef0',
        launchTemplateVersion: '$Default',
        subnetId: 'subnet-0123456789abcdef0',
        instanceType: undefined,
        tags: {
          'caretaker:cluster': 'lab',
          'caretaker:role': 'scratch',
          'caretaker:expires-at': '2026-11-25T07:00:00.000Z',
          'caretaker:execution':
            'arn:aws:states:eu-west-1:1:execution:rv:restore-verify-lab-20261125T060000Z',
          Name: 'caretaker-scratch-lab',
        },
        clientToken: scratchClientToken(
          'arn:aws:states:eu-west-1:1:execution:rv:restore-verify-lab-20261125T060000Z',
        ),
      },
    ]);
  });

  it('gives two runs on the same day different launch tokens, even for a 40-character cluster name', async () => {
    const name = 'a'.repeat(40);
    const directory = staticDirectory(
      parseConfig({
        clusters: [
          {
            name,
            kind: 'kubeadm',
            region: 'eu-west-1',
            restoreVerify: { launchTemplate: 'lt-0123456789abcdef0' },
          },
        ],
      }).clusters,
    );
    const fleet = memoryFleet();
    const execution = (at: string) =>
      `arn:aws:states:eu-west-1:123456789012:execution:caretaker-restore-verify:${executionName('restore-verify', name, new Date(at))}`;

    for (const at of ['2026-11-25T06:00:00Z', '2026-11-25T18:00:00Z', '2026-11-25T06:00:00Z']) {
      await launchScratch(
        { cluster: name, executionId: execution(at) },
        { clusters: directory, fleet, clock: fixedClock() },
      );
    }

    // what EC2 receives: RunInstances takes at most 64 characters
    const [morning, evening, retried] = fleet.launched.map((l) => l.clientToken);
    expect(morning!.length).toBeLessThanOrEqual(64);
    expect(morning).not.toBe(evening);
    expect(retried).toBe(morning);
  });

  it('rejects a cluster without restoreVerify settings, launching nothing', async () => {
    const fleet = memoryFleet();
    await expect(
      launchScratch(
        { cluster: 'prod-eu', executionId: 'x' },
        { clusters: clusters(), fleet, clock: fixedClock() },
      ),
    ).rejects.toThrow(InvalidInputError);
    expect(fleet.launched).toEqual([]);
  });
});

describe('checkScratchReady', () => {
  const ID = 'i-0badc0ffee0000001';
  const scratch = (state: string) => memoryFleet([{ instanceId: ID, state, tags: {} }]);

  it('is ready when the instance is online with the scratch tags, and counts the check', async () => {
    const inventory = staticInventory([{ instanceId: ID }]);
    await expect(
      checkScratchReady(
        { cluster: 'lab', instanceId: ID, checks: 4 },
        { inventory, fleet: scratch('running') },
      ),
    ).resolves.toEqual({ ready: true, deadlineExpired: false, checks: 5, reason: '' });
    expect(inventory.findManagedInstances).toHaveBeenCalledWith({
      'caretaker:cluster': 'lab',
      'caretaker:role': 'scratch',
    });
  });

  it('answers not ready, without throwing, while it is not online before the deadline', async () => {
    const out = await checkScratchReady(
      { cluster: 'lab', instanceId: ID },
      { inventory: staticInventory([]), fleet: scratch('pending') },
    );

    expect(out).toEqual({
      ready: false,
      deadlineExpired: false,
      checks: 1,
      reason: expect.stringContaining('pending but not Online in SSM after 1 check'),
    });
  });

  it(`says the deadline passed on the ${SCRATCH_READY_MAX_CHECKS}th check that is not ready`, async () => {
    const check = (checks: number) =>
      checkScratchReady(
        { cluster: 'lab', instanceId: ID, checks },
        { inventory: staticInventory([]), fleet: scratch('running') },
      );

    await expect(check(SCRATCH_READY_MAX_CHECKS - 2)).resolves.toMatchObject({ deadlineExpired: false });
    await expect(check(SCRATCH_READY_MAX_CHECKS - 1)).resolves.toMatchObject({
      ready: false,
      deadlineExpired: true,
      checks: SCRATCH_READY_MAX_CHECKS,
    });
  });

  it('is not ready, not gone, when EC2 does not list a new instance on the first check', async () => {
    await expect(
      checkScratchReady(
        { cluster: 'lab', instanceId: ID },
        { inventory: staticInventory([]), fleet: memoryFleet() },
      ),
    ).resolves.toMatchObject({
      ready: false,
      deadlineExpired: false,
      reason: expect.stringContaining('not listed yet'),
    });
  });

  it.each([
    ['is stopped', scratch('stopped'), 0],
    ['is stopping', scratch('stopping'), 3],
    ['is no longer listed (terminated)', memoryFleet(), 1],
  ])('fails with ScratchGoneError when the instance %s', async (_what, fleet, checks) => {
    await expect(
      checkScratchReady(
        { cluster: 'lab', instanceId: ID, checks },
        { inventory: staticInventory([]), fleet },
      ),
    ).rejects.toThrow(ScratchGoneError);
  });
});

describe('recordVerification', () => {
  it('tags the snapshot verified, keeps its other tags, writes the report (with the restore tool) and the RTO metric', async () => {
    const store = memoryStore({ [KEY]: { body: 'x', tags: { team: 'platform' } } });
    const metrics = recordingMetrics();
    const out = await recordVerification(
      { cluster: 'prod-eu', executionId: 'exec-1', key: KEY, verification: verified },
      { store, metrics, clock: fixedClock('2026-11-25T07:00:12Z') },
    );
    expect(out).toEqual({
      verified: true,
      failedCheck: '',
      reason: verified.reason,
      key: KEY,
      reportKey: KEY.replace(/\.db$/, '.verification.json'),
      restoreSeconds: 2.4,
    });
    expect(store.objects.get(KEY)!.tags).toEqual({
      team: 'platform',
      'caretaker:verified': 'true',
      'caretaker:verified-at': '2026-11-25T07:00:12.000Z',
      'caretaker:verified-by': 'exec-1',
    });
    const report = JSON.parse(store.objects.get(out.reportKey)!.body);
    expect(report).toMatchObject({
      key: KEY,
      verified: true,
      restoreSeconds: 2.4,
      snapshotAgeSeconds: 3600,
      verifiedBy: 'exec-1',
      etcdVersion: '3.4.23',
      restoreTool: { name: 'etcdctl', version: '3.4.23' },
      revisionBump: 0,
    });
    expect(metrics.records).toEqual([
      [
        { cluster: 'prod-eu', workflow: 'restore-verify' },
        {
          Verified: { value: 1, unit: 'Count' },
          SnapshotAgeAtVerifySeconds: { value: 3600, unit: 'Seconds' },
          RestoreSeconds: { value: 2.4, unit: 'Seconds' },
        },
      ],
    ]);
  });

  it.each([
    [
      'a failed check',
      {
        ...verified,
        verified: false,
        failedCheck: 'key-counts',
        reason: 'pods: 40 in manifest, 39 restored',
      },
      'key-counts',
    ],
    ['a result about another key', { ...verified, key: OLDER }, 'key'],
    [
      '"verified" with a failed check inside',
      { ...verified, checks: [{ name: 'revision', ok: false, detail: 'lower' }] },
      'revision',
    ],
  ])('records %s as not verified, naming the check', async (_what, result, check) => {
    const store = memoryStore({ [KEY]: { body: 'x' } });
    const out = await recordVerification(
      { cluster: 'prod-eu', executionId: 'exec-1', key: KEY, verification: result },
      { store, metrics: recordingMetrics(), clock: fixedClock() },
    );
    expect(out.verified).toBe(false);
    expect(out.failedCheck).toBe(check);
    expect(store.objects.get(KEY)!.tags!['caretaker:verified']).toBe('false');
  });
});

describe('terminateScratch and the janitor', () => {
  const scratch = (id: string, cluster: string, expires: string, role = 'scratch'): ScratchInstance => ({
    instanceId: id,
    state: 'running',
    tags: { 'caretaker:cluster': cluster, 'caretaker:role': role, 'caretaker:expires-at': expires },
  });

  it('terminates the execution scratch instance of its cluster', async () => {
    const fleet = memoryFleet([scratch('i-0badc0ffee0000001', 'lab', '2026-11-25T07:00:00Z')]);
    expect(await terminateScratch({ cluster: 'lab', instanceId: 'i-0badc0ffee0000001' }, { fleet })).toEqual({
      terminated: true,
      reason: '',
    });
    expect(fleet.terminated).toEqual(['i-0badc0ffee0000001']);
  });

  it('leaves an instance alone that is not a scratch instance of that cluster', async () => {
    const fleet = memoryFleet([scratch('i-0badc0ffee0000001', 'other', '2026-11-25T07:00:00Z')]);
    const out = await terminateScratch({ cluster: 'lab', instanceId: 'i-0badc0ffee0000001' }, { fleet });
    expect(out.terminated).toBe(false);
    expect(fleet.terminated).toEqual([]);
    const gone = await terminateScratch({ cluster: 'lab', instanceId: 'i-0a1b2c3d4e5f60001' }, { fleet });
    expect(gone).toEqual({ terminated: false, reason: expect.stringMatching(/not a live scratch instance/) });
  });

  it('reaps only scratch instances past their expiry (or without one)', async () => {
    const fleet = memoryFleet([
      scratch('i-0000000000000000a', 'lab', '2026-11-25T05:00:00Z'),
      scratch('i-0000000000000000b', 'lab', '2026-11-25T09:00:00Z'),
      scratch('i-0000000000000000c', 'lab', 'garbage'),
      scratch('i-0000000000000000d', 'lab', '2026-11-25T05:00:00Z', 'control-plane'),
    ]);
    const out = await reapScratch({ fleet, clock: fixedClock() });
    expect(fleet.terminated).toEqual(['i-0000000000000000a', 'i-0000000000000000c']);
    expect(out.terminated).toEqual([
      { instanceId: 'i-0000000000000000a', cluster: 'lab' },
      { instanceId: 'i-0000000000000000c', cluster: 'lab' },
    ]);
  });
});

describe('the restore command', () => {
  it('runs only on a live scratch instance of the cluster, with the snapshot key as its one argument', async () => {
    const inventory = staticInventory([{ instanceId: 'i-0badc0ffee0000001' }]);
    const runner = fakeRunner();
    await sendCommand(
      {
        taskToken: 't',
        cluster: 'lab',
        instanceId: 'i-0badc0ffee0000001',
        command: 'etcd-restore-verify',
        executionId: 'exec-1',
        state: 'Restore and check the snapshot on the scratch instance',
        args: { key: 'lab/etcd/2026/11/25/20261125T060012Z-r1.db' },
      },
      {
        clusters: clusters(),
        inventory,
        runner,
        tokens: memoryTokens(),
        clock: fixedClock(),
        documents: { 'etcd-restore-verify': 'Doc-RV' },
        bucket: 'b',
      },
    );
    expect(inventory.findManagedInstances).toHaveBeenCalledWith({
      'caretaker:cluster': 'lab',
      'caretaker:role': 'scratch',
    });
    expect(runner.sent[0]!.parameters).toEqual({
      Cluster: 'lab',
      Bucket: 'b',
      Key: 'lab/etcd/2026/11/25/20261125T060012Z-r1.db',
      ExecutionId: 'exec-1',
    });
  });

  it('rejects a restore of a key that is not the cluster snapshot, sending nothing', async () => {
    const runner = fakeRunner();
    await expect(
      sendCommand(
        {
          taskToken: 't',
          cluster: 'lab',
          instanceId: 'i-0badc0ffee0000001',
          command: 'etcd-restore-verify',
          executionId: 'e',
          state: 'Restore and check the snapshot on the scratch instance',
          args: { key: 'prod-eu/etcd/2026/11/25/20261125T060012Z-r1.db' },
        },
        {
          clusters: clusters(),
          inventory: staticInventory([{ instanceId: 'i-0badc0ffee0000001' }]),
          runner,
          tokens: memoryTokens(),
          clock: fixedClock(),
          documents: { 'etcd-restore-verify': 'Doc-RV' },
          bucket: 'b',
        },
      ),
    ).rejects.toThrow(/args.key: .* is not a snapshot key of lab/);
    expect(runner.sent).toEqual([]);
  });
});

describe('restoreVerify configuration', () => {
  it('fills defaults and takes the backup time zone', () => {
    const [c] = parseConfig({
      clusters: [
        {
          name: 'lab',
          kind: 'kubeadm',
          region: 'eu-west-1',
          backup: { timeZone: 'Europe/Berlin' },
          restoreVerify: { launchTemplate: 'scratch-etcd' },
        },
      ],
    }).clusters;
    expect(c!.restoreVerify).toEqual({
      enabled: true,
      schedule: 'rate(1 day)',
      timeZone: 'Europe/Berlin',
      launchTemplate: 'scratch-etcd',
      launchTemplateVersion: '$Default',
      subnetId: undefined,
      instanceType: undefined,
      scratchTtlMinutes: 120,
      alarmAfterHours: 48,
      instanceRole: 'caretaker-scratch-lab',
    });
  });

  it.each([
    [{ launchTemplate: 'my template!' }, /restoreVerify\.launchTemplate: must be a launch template id/],
    [
      { launchTemplate: 'lt-0123456789abcdef0', subnetId: 'sn-1' },
      /restoreVerify\.subnetId: must be a subnet id/,
    ],
    [{ launchTemplate: 'lt-0123456789abcdef0', scratchTtlMinutes: 5 }, /restoreVerify\.scratchTtlMinutes/],
    [
      { launchTemplate: 'lt-0123456789abcdef0', instanceRole: 'arn:aws:iam::role/x' },
      /restoreVerify\.instanceRole: must be an IAM role name or ARN/,
    ],
  ])('rejects bad restoreVerify settings, naming the field (%#)', (rv, message) => {
    expect(() =>
      parseConfig({ clusters: [{ name: 'lab', kind: 'kubeadm', region: 'eu-west-1', restoreVerify: rv }] }),
    ).toThrow(message);
  });

  it('rejects restoreVerify on EKS', () => {
    expect(() =>
      parseConfig({
        clusters: [
          {
            name: 'm',
            kind: 'eks',
            region: 'eu-west-1',
            restoreVerify: { launchTemplate: 'lt-0123456789abcdef0' },
          },
        ],
      }),
    ).toThrow(/restoreVerify: EKS has no etcd snapshots to verify/);
  });
});
