/**
 * patch-workers.asl.json in the local runner: the real workflow Lambdas over in-memory ports and
 * a simulated cluster playing the node commands (test/asl/patch-world.ts). Every failing path
 * must end with no node this run cordoned left unnamed.
 */
import type { JsonObject } from '../../sandbox/asl-runner';
import { PatchWorld, CLUSTER } from './patch-world';

const OWNER = 'patch-workers-prod-eu-20261129T020000Z';

function outcome(w: PatchWorld): JsonObject {
  return w.outcomes.published.at(-1)!;
}
function report(w: PatchWorld): JsonObject {
  return outcome(w)['patching'] as JsonObject;
}
const names = (list: unknown) => ((list as { first: string[] }).first ?? []).slice().sort();
/** every node this run left cordoned is named in the outcome, with why and the undo command */
function expectNoSilentCordon(w: PatchWorld, owner = OWNER) {
  const left = (report(w)['leftCordoned'] as { node: string; reason: string; undo: string }[]) ?? [];
  expect(left.map((l) => l.node).sort()).toEqual(w.cordonedBy(owner).sort());
  for (const l of left) {
    expect(l.reason.length).toBeGreaterThan(5);
    expect(l.undo).toBe(
      `kubectl uncordon ${l.node} && kubectl annotate node ${l.node} caretaker.io/cordoned-by-`,
    );
  }
}
const commands = (w: PatchWorld, command: string) => w.sent.filter((s) => s.command === command);

describe('patch-workers workflow', () => {
  it('patches every worker in a sliding window: cordon, drain, patch, back with a new boot id, uncordon, record', async () => {
    const w = new PatchWorld({ workers: 6, patching: { maxUnavailable: 2 } });
    for (const n of w.nodes.values()) n.patchMs = 20;
    const bootBefore = w.node(0).bootID;

    const r = await w.run();

    expect(r.status).toBe('SUCCEEDED');
    expect(outcome(w)['outcome']).toBe('Succeeded');
    expect(names(report(w)['patched'])).toEqual([...w.nodes.keys()].sort());
    expect(report(w)['rebooted']).toBe(3);
    expect(w.maxInFlight).toBe(2);
    for (const n of w.nodes.values()) {
      expect(n.unschedulable).toBe(false);
      expect(n.annotations['caretaker.io/patched-by']).toBe(OWNER);
      expect(n.annotations['caretaker.io/patch-summary']).toMatch(
        /^manager=apt,packages=3,rebooted=(true|false),seconds=[0-9]+$/,
      );
      expect(w.tags.get(n.instanceId)).toMatchObject({ 'caretaker:patched-by': OWNER });
    }
    expect(w.node(0).bootID).not.toBe(bootBefore);
    // the drain respects PDBs and the patch follows the policy
    expect(commands(w, 'node-drain')[0]!.args).toMatchObject({
      timeoutSeconds: 600,
      gracePeriodSeconds: -1,
      deleteEmptyDirData: true,
      disableEviction: false,
    });
    expect(commands(w, 'os-patch')[0]!.args).toEqual({
      method: 'package-manager',
      scope: 'security',
      reboot: 'if-required',
    });
    // the worker lock was taken (workers scope only) and released
    expect(r.inputsTo('acquire-lock')[0]).toMatchObject({ scopes: ['workers'], operation: 'patch-workers' });
    expect(w.lock.holder(CLUSTER, 'workers')).toBeUndefined();
    const metrics = Object.assign({}, ...w.metrics.records.map(([, v]) => v)) as Record<
      string,
      { value: number }
    >;
    expect(metrics['NodesPatched']!.value).toBe(6);
    expect(metrics['NodesRebooted']!.value).toBe(3);
    expectNoSilentCordon(w);
  }, 60_000);

  it('dry run: plans, names skipped nodes, takes no lock and changes nothing', async () => {
    const w = new PatchWorld({ workers: 4 });
    w.node(1).labels['caretaker.io/hold'] = 'true';
    const before = JSON.stringify([...w.nodes.values()]);

    const r = await w.run({ dryRun: true });

    expect(r.status).toBe('SUCCEEDED');
    expect(w.sent.map((s) => s.command)).toEqual(['node-inventory']);
    expect(r.callsTo('acquire-lock')).toHaveLength(0);
    expect(JSON.stringify([...w.nodes.values()])).toBe(before);
    const plan = report(w);
    expect(plan).toMatchObject({ dryRun: true, workers: 4, toPatch: 3, skipped: 1 });
    expect(plan['skippedNodes']).toEqual([
      { node: w.node(1).name, reason: 'held-by-label', detail: 'label caretaker.io/hold holds it' },
    ]);
  }, 60_000);

  describe('a PodDisruptionBudget that allows no disruption', () => {
    it('policy fail: the node fails, is uncordoned because it is healthy, and is named', async () => {
      const w = new PatchWorld({
        workers: 2,
        patching: { maxUnavailable: 1, drain: { onPdbTimeout: 'fail' } },
      });
      w.node(0).pdbBlocks = true;

      const r = await w.run();

      expect(r.status).toBe('SUCCEEDED'); // one failure is within the default error budget (1)
      const failed = (report(w)['failed'] as { first: { node: string; reason: string }[] }).first;
      expect(failed).toEqual([
        { node: w.node(0).name, reason: expect.stringContaining('PodDisruptionBudget web-pdb') },
      ]);
      expect(w.node(0).unschedulable).toBe(false);
      expect(w.node(0).installed).toEqual([]);
      expect(commands(w, 'os-patch').map((c) => c.instanceId)).toEqual([w.node(1).instanceId]);
      expectNoSilentCordon(w);
    }, 60_000);

    it('policy skip-node: the node is uncordoned untouched and left for the next run', async () => {
      const w = new PatchWorld({ workers: 2, patching: { drain: { onPdbTimeout: 'skip-node' } } });
      w.node(0).pdbBlocks = true;

      const r = await w.run();

      expect(r.status).toBe('SUCCEEDED');
      expect(outcome(w)['outcome']).toBe('Paused');
      expect(names(report(w)['notStarted'])).toEqual([w.node(0).name]);
      expect(names(report(w)['patched'])).toEqual([w.node(1).name]);
      expect(w.node(0).unschedulable).toBe(false);
      expect(w.node(0).installed).toEqual([]);
      expectNoSilentCordon(w);
    }, 60_000);

    it('policy disable-eviction: waits once more respecting the PDB, then drains without eviction and patches', async () => {
      const w = new PatchWorld({
        workers: 1,
        patching: { drain: { onPdbTimeout: 'disable-eviction', disableEvictionAfterSeconds: 300 } },
      });
      w.node(0).pdbBlocks = true;

      const r = await w.run();

      expect(r.status).toBe('SUCCEEDED');
      expect(
        commands(w, 'node-drain').map((c) => [c.args['timeoutSeconds'], c.args['disableEviction']]),
      ).toEqual([
        [600, false],
        [300, false],
        [600, true],
      ]);
      expect(names(report(w)['patched'])).toEqual([w.node(0).name]);
      expectNoSilentCordon(w);
    }, 60_000);
  });

  it('stops starting nodes once failures exceed the error budget, and ends Failed with what is left', async () => {
    const w = new PatchWorld({ workers: 5, patching: { maxUnavailable: 1, errorBudget: 1 } });
    w.node(0).patchFails = true;
    w.node(1).patchFails = true;

    const r = await w.run();

    expect(r.status).toBe('FAILED');
    expect(r.error?.Error).toBe('PatchRunFailed');
    expect(outcome(w)['outcome']).toBe('Failed');
    expect(
      commands(w, 'node-cordon')
        .filter((c) => c.args['action'] === 'cordon')
        .map((c) => c.node),
    ).toEqual([w.node(0).name, w.node(1).name]);
    expect(names(report(w)['notStarted'])).toHaveLength(3);
    expect(String(report(w)['why'])).toContain('error budget');
    expect(w.lock.holder(CLUSTER, 'workers')).toBeUndefined();
    expectNoSilentCordon(w);
  }, 60_000);

  it('window end: no new node starts, the run ends Paused, and the next run resumes with what is left', async () => {
    const patching = { maxUnavailable: 1, patchedWithinDays: 10 };
    const w = new PatchWorld({ workers: 4, patching });
    let recorded = 0;
    w.onCommand = (c, world) => {
      // the window (ends 06:00) has no room for another 30-minute node after the second one
      if (c.command === 'node-record' && ++recorded === 2) world.now = new Date('2026-11-29T05:45:00Z');
    };

    const first = await w.run();

    expect(first.status).toBe('SUCCEEDED');
    expect(outcome(w)['outcome']).toBe('Paused');
    expect(names(report(w)['patched'])).toHaveLength(2);
    expect(names(report(w)['notStarted'])).toHaveLength(2);
    expect(report(w)['nextWindowStart']).toBe('2026-12-06T02:00:00.000Z');
    expectNoSilentCordon(w);
    const patchedFirst = names(report(w)['patched']);

    // next Sunday's window: the patched nodes carry caretaker.io/patched-at and are skipped
    w.onCommand = undefined;
    w.now = new Date('2026-12-06T02:10:00Z');
    const second = await w.run({}, { executionName: 'patch-workers-prod-eu-20261206T020000Z' });

    expect(second.status).toBe('SUCCEEDED');
    expect(outcome(w)['outcome']).toBe('Succeeded');
    const patchedSecond = names(report(w)['patched']);
    expect(patchedSecond).toHaveLength(2);
    expect(patchedSecond.filter((n) => patchedFirst.includes(n))).toEqual([]);
    expect(report(w)['skipped']).toBe(2);
    expectNoSilentCordon(w, 'patch-workers-prod-eu-20261206T020000Z');
  }, 60_000);

  it('a node that never comes back after its reboot is left cordoned and named with the undo command', async () => {
    const w = new PatchWorld({ workers: 2, patching: { health: { returnTimeoutSeconds: 60 } } });
    w.node(0).neverBack = true;
    w.node(0).rebootRequired = true;

    const r = await w.run();

    expect(r.status).toBe('SUCCEEDED');
    // four checks 15 s apart (returnTimeoutSeconds 60), then the failure path's own look
    expect(commands(w, 'node-status').filter((c) => c.node === w.node(0).name)).toHaveLength(5);
    expect(w.node(0).unschedulable).toBe(true);
    const left = report(w)['leftCordoned'] as { node: string; reason: string }[];
    expect(left).toEqual([
      expect.objectContaining({ node: w.node(0).name, reason: expect.stringContaining('NodeNotBack') }),
    ]);
    expectNoSilentCordon(w);
  }, 60_000);

  it('a patch that fails halfway: the healthy node is uncordoned and the failure named', async () => {
    const w = new PatchWorld({ workers: 1 });
    w.node(0).patchFails = true;

    const r = await w.run();

    expect(r.status).toBe('SUCCEEDED');
    expect(w.node(0).unschedulable).toBe(false);
    expect((report(w)['failed'] as { first: { reason: string }[] }).first[0]!.reason).toContain(
      'dpkg returned an error',
    );
    expect(report(w)['leftCordoned']).toEqual([]);
    expect(w.tags.get(w.node(0).instanceId)).toBeUndefined();
    expectNoSilentCordon(w);
  }, 60_000);

  it('an alarm in ALARM starts no node, and a held node is skipped by name', async () => {
    const w = new PatchWorld({ workers: 3, patching: { blockers: { alarms: ['api-5xx'] } } });
    w.alarming.add('api-5xx');
    w.node(2).heldByPods = ['batch/nightly-1'];

    const r = await w.run();

    expect(r.status).toBe('SUCCEEDED');
    expect(outcome(w)['outcome']).toBe('Paused');
    expect(commands(w, 'node-cordon')).toEqual([]);
    expect(String(report(w)['why'])).toContain('api-5xx');
    expect(report(w)['skipped']).toBe(1);
    expectNoSilentCordon(w);
  }, 60_000);

  it('a lock held by an upgrade skips the run; a backup holding only the control-plane scope does not', async () => {
    const upgrade = {
      owner: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-upgrade-control-plane:u1',
      operation: 'upgrade-control-plane',
      acquiredAt: '2026-11-29T02:00:00.000Z',
      expiresAt: '2026-11-29T08:00:00.000Z',
    };
    const w = new PatchWorld({ workers: 2 });
    w.lock.hold(CLUSTER, upgrade, ['control-plane', 'workers']);

    const held = await w.run();

    expect(held.status).toBe('SUCCEEDED');
    expect(outcome(w)).toMatchObject({ outcome: 'Skipped', heldBy: { operation: 'upgrade-control-plane' } });
    expect(w.sent).toEqual([]);
    expect(w.lock.holder(CLUSTER, 'workers')?.operation).toBe('upgrade-control-plane');

    const v = new PatchWorld({ workers: 2 });
    v.lock.hold(CLUSTER, { ...upgrade, operation: 'etcd-backup' }, ['control-plane']);
    const beside = await v.run();
    expect(beside.status).toBe('SUCCEEDED');
    expect(outcome(v)['outcome']).toBe('Succeeded');
  }, 60_000);

  it('outside the maintenance window a scheduled run touches nothing; --now runs anyway', async () => {
    const w = new PatchWorld({ workers: 1, now: '2026-11-27T12:00:00.000Z' });

    const r = await w.run();

    expect(r.status).toBe('SUCCEEDED');
    expect(outcome(w)['outcome']).toBe('Paused');
    expect(w.sent).toEqual([]);
    expect(r.callsTo('acquire-lock')).toHaveLength(0);

    const now = await w.run({ now: true }, { executionName: 'patch-workers-prod-eu-20261127T120000Z-cli' });
    expect(now.status).toBe('SUCCEEDED');
    expect(outcome(w)['outcome']).toBe('Succeeded');
  }, 60_000);

  it('uses the patch baseline document when the method says so', async () => {
    const w = new PatchWorld({ workers: 1, patching: { method: 'patch-baseline', reboot: 'always' } });

    const r = await w.run();

    expect(r.status).toBe('SUCCEEDED');
    expect(commands(w, 'os-patch-baseline')[0]!.args).toEqual({
      method: 'patch-baseline',
      scope: 'security',
      reboot: 'always',
    });
    expect(commands(w, 'os-patch')).toEqual([]);
    expect(w.node(0).reboots).toBe(1);
  }, 60_000);

  it('a node whose DaemonSet pods never get Ready fails its health gate and is cordoned again, named', async () => {
    const w = new PatchWorld({ workers: 1, patching: { health: { returnTimeoutSeconds: 60 } } });
    w.node(0).daemonSetsBroken = true;

    const r = await w.run();

    expect(r.status).toBe('SUCCEEDED');
    expect(w.node(0).unschedulable).toBe(true);
    expect((report(w)['leftCordoned'] as { reason: string }[])[0]!.reason).toContain('NodeUnhealthy');
    expectNoSilentCordon(w);
  }, 60_000);
});
