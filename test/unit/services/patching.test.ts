import { checkPatchGate } from '../../../functions/check-patch-gate/service';
import { planPatchRun } from '../../../functions/plan-patch/service';
import { preparePatch } from '../../../functions/prepare-patch/service';
import { describePatching } from '../../../functions/publish-outcome/patching';
import { recordPatch } from '../../../functions/record-patch/service';
import { parseConfig } from '../../../functions/shared/domain/config';
import { CorruptObjectError, NoInstancesFoundError } from '../../../functions/shared/errors';
import { memoryMetrics } from '../../../sandbox/local-adapters';
import { fixedClock, memoryStore, staticDirectory, staticInventory } from '../../support/fakes';

const clusters = parseConfig({
  clusters: [
    {
      name: 'prod-eu',
      kind: 'kubeadm',
      region: 'eu-west-1',
      patching: { method: 'patch-baseline', blockers: { holdPodSelector: 'app=batch' } },
    },
  ],
}).clusters;
const RUN = 'patch-workers-prod-eu-20261129T020000Z';

describe('prepare-patch', () => {
  it('picks the control-plane node, the keys, the open window and the per-node settings', async () => {
    const out = await preparePatch(
      { cluster: 'prod-eu', executionName: RUN },
      {
        clusters: staticDirectory(clusters),
        inventory: staticInventory([{ instanceId: 'i-0c0c0c0c0c0c0c0c1' }]),
        clock: fixedClock('2026-11-29T02:30:00Z'),
      },
    );
    expect(out).toMatchObject({
      controlPlane: 'i-0c0c0c0c0c0c0c0c1',
      keys: { before: `prod-eu/patching/${RUN}/nodes-before.json` },
      podSelector: 'app=batch',
      window: { open: true, end: '2026-11-29T06:00:00.000Z' },
      settings: { command: 'os-patch-baseline', returnChecks: 80, pollSeconds: 15 },
    });
  });

  it('says when the window is closed and when the next one opens', async () => {
    const out = await preparePatch(
      { cluster: 'prod-eu', executionName: RUN },
      {
        clusters: staticDirectory(clusters),
        inventory: staticInventory([{ instanceId: 'i-0c0c0c0c0c0c0c0c1' }]),
        clock: fixedClock('2026-11-30T12:00:00Z'),
      },
    );
    expect(out.window).toEqual({ open: false, nextStart: '2026-12-06T02:00:00.000Z' });
  });

  it('fails with NoInstancesFoundError when no control-plane node is there to run kubectl', async () => {
    await expect(
      preparePatch(
        { cluster: 'prod-eu', executionName: RUN },
        { clusters: staticDirectory(clusters), inventory: staticInventory([]), clock: fixedClock() },
      ),
    ).rejects.toBeInstanceOf(NoInstancesFoundError);
  });
});

describe('plan-patch', () => {
  it('fails with CorruptObjectError when the node inventory is missing, and writes nothing', async () => {
    const store = memoryStore();
    await expect(
      planPatchRun(
        { cluster: 'prod-eu', executionName: RUN },
        {
          clusters: staticDirectory(clusters),
          inventory: staticInventory([]),
          store,
          clock: fixedClock(),
          bucket: 'b',
        },
      ),
    ).rejects.toBeInstanceOf(CorruptObjectError);
    expect(store.objects.size).toBe(0);
  });
});

describe('check-patch-gate', () => {
  const gate = (now: string, alarming: string[] = []) =>
    checkPatchGate(
      { cluster: 'prod-eu', windowEnd: '2026-11-29T06:00:00.000Z', nodeMinutes: 30, alarms: ['api-5xx'] },
      {
        alarms: { inAlarm: async (names) => names.filter((n) => alarming.includes(n)) },
        clock: fixedClock(now),
      },
    );

  it('opens while the window has room and no blocker alarm fires', async () => {
    expect(await gate('2026-11-29T05:00:00Z')).toEqual({ open: true, checkedAt: '2026-11-29T05:00:00.000Z' });
  });

  it('closes for a node that would run past the window, and for an alarm in ALARM', async () => {
    expect((await gate('2026-11-29T05:45:00Z')).reason).toContain(
      'too soon for a node that takes 30 minutes',
    );
    expect((await gate('2026-11-29T03:00:00Z', ['api-5xx'])).reason).toBe(
      'blocker alarm(s) in ALARM: api-5xx',
    );
  });
});

describe('record-patch', () => {
  it('tags a patched node, writes its result and records its metrics', async () => {
    const store = memoryStore();
    const metrics = memoryMetrics();
    const tagged: unknown[] = [];
    const out = await recordPatch(
      {
        cluster: 'prod-eu',
        executionName: RUN,
        node: 'worker-1',
        instanceId: 'i-0beef00000000001',
        outcome: 'patched',
        startedAt: '2026-11-29T02:30:00.000Z',
        patch: {
          manager: 'apt',
          packages: 2,
          changed: ['openssl', 'libc6'],
          rebootRequired: true,
          rebooted: true,
          bootIdBefore: 'a',
          bootIdAfter: 'b',
        },
      },
      {
        tagger: { tag: async (...args) => void tagged.push(args) },
        store,
        metrics,
        clock: fixedClock('2026-11-29T02:42:00Z'),
      },
    );
    expect(out).toEqual({
      node: 'worker-1',
      outcome: 'patched',
      patchedAt: '2026-11-29T02:42:00.000Z',
      packages: 2,
      summary: 'manager=apt,packages=2,rebooted=true,seconds=720',
    });
    expect(tagged).toEqual([
      [
        'prod-eu',
        'i-0beef00000000001',
        {
          'caretaker:patched-at': '2026-11-29T02:42:00.000Z',
          'caretaker:patched-by': RUN,
          'caretaker:patch-summary': 'manager=apt,packages=2,rebooted=true,seconds=720',
        },
      ],
    ]);
    expect(await store.getJson(`prod-eu/patching/${RUN}/nodes/worker-1.json`)).toMatchObject({
      outcome: 'patched',
      rebooted: true,
      durationSeconds: 720,
    });
    // the node is a field of the line (the dashboard's per-worker table), not a dimension
    expect(metrics.records[0]![0]).toEqual({
      cluster: 'prod-eu',
      workflow: 'patch-workers',
      node: 'worker-1',
      instanceId: 'i-0beef00000000001',
    });
    expect(metrics.records[0]![1]).toMatchObject({
      NodePatchSeconds: { value: 720 },
      NodeRebooted: { value: 1 },
    });
  });

  it('records a failed node with the error as its reason and tags nothing', async () => {
    const store = memoryStore();
    const tag = jest.fn();
    await recordPatch(
      {
        cluster: 'prod-eu',
        executionName: RUN,
        node: 'worker-2',
        instanceId: 'i-0beef00000000002',
        outcome: 'failed',
        error: { Error: 'CommandFailedError', Cause: 'dpkg returned an error code (1)' },
        leftCordoned: true,
      },
      { tagger: { tag }, store, metrics: memoryMetrics(), clock: fixedClock() },
    );
    expect(tag).not.toHaveBeenCalled();
    expect(await store.getJson(`prod-eu/patching/${RUN}/nodes/worker-2.json`)).toMatchObject({
      outcome: 'failed',
      reason: 'CommandFailedError: dpkg returned an error code (1)',
      leftCordoned: true,
    });
  });
});

describe('the outcome message of a patch run', () => {
  it('names every node left cordoned with the command that undoes it', () => {
    const lines = describePatching({
      why: 'more nodes failed than the error budget allows',
      planned: 3,
      skipped: 1,
      rebooted: 1,
      patched: { first: ['a'], more: 0 },
      failed: { first: [{ node: 'b', reason: 'NodeNotBack' }], more: 0 },
      notStarted: { first: ['c'], more: 0 },
      leftCordoned: [{ node: 'b', reason: 'NodeNotBack', undo: 'kubectl uncordon b' }],
      swept: true,
    });
    expect(lines).toEqual(
      expect.arrayContaining([
        'Patched: a',
        '  b: NodeNotBack',
        'Not started (left for the next run): c',
        'LEFT CORDONED by Caretaker (look at each, then undo):',
        '  b: NodeNotBack\n    undo: kubectl uncordon b',
      ]),
    );
  });
});
