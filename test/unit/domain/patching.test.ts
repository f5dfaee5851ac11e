import { parseConfig } from '../../../functions/shared/domain/config';
import { finishRun, undoCordon, type NodeResult } from '../../../functions/shared/domain/patching/outcome';
import {
  lastPatchSeconds,
  planPatch,
  resolveCount,
  summarizePlan,
  type InventoryNode,
  type PlanRequest,
  type WorkerInstance,
} from '../../../functions/shared/domain/patching/plan';
import {
  nextWindowStart,
  parseCron,
  runWindowEnd,
  UnsupportedCronError,
  windowAt,
  windowOpenFor,
} from '../../../functions/shared/domain/patching/window';
import { InvalidInputError } from '../../../functions/shared/errors';
import { PATCHING_DEFAULTS, patchingSettings } from '../../../functions/shared/workflows/patch-workers';

const NOW = new Date('2026-11-29T03:00:00Z'); // a Sunday
const OWNER = 'patch-workers-prod-20261129T020000Z';
const settings = { ...PATCHING_DEFAULTS, enabled: true };

function node(name: string, over: Partial<InventoryNode> = {}): InventoryNode {
  const id = `i-${Buffer.from(name).toString('hex').slice(0, 12).padEnd(12, '0')}`;
  return {
    name,
    providerID: `aws:///eu-west-1a/${id}`,
    labels: {},
    annotations: {},
    unschedulable: false,
    ready: true,
    kubeletVersion: 'v1.37.2',
    bootID: `boot-${name}`,
    heldByPods: [],
    ...over,
  };
}

function workerOf(n: InventoryNode, zone?: string): WorkerInstance {
  const instanceId = /i-[0-9a-f]+$/.exec(n.providerID)![0];
  return { instanceId, availabilityZone: zone ?? n.providerID.split('/')[3] };
}

function request(nodes: InventoryNode[], over: Partial<PlanRequest> = {}): PlanRequest {
  return { workers: nodes.map((n) => workerOf(n)), nodes, settings, now: NOW, owner: OWNER, ...over };
}

const daysAgo = (d: number) => new Date(NOW.getTime() - d * 86_400_000).toISOString();

describe('maintenance windows', () => {
  const sunday2am = { schedule: 'cron(0 2 ? * SUN *)', durationMinutes: 240, timeZone: 'UTC' };

  it('finds the window a time is in, and none outside it', () => {
    expect(windowAt(sunday2am, NOW)).toEqual({
      start: new Date('2026-11-29T02:00:00Z'),
      end: new Date('2026-11-29T06:00:00Z'),
    });
    expect(windowAt(sunday2am, new Date('2026-11-29T06:00:00Z'))).toBeUndefined();
    expect(windowAt(sunday2am, new Date('2026-11-28T03:00:00Z'))).toBeUndefined();
  });

  it('reads the start in the window time zone, across a DST change', () => {
    const berlin = { ...sunday2am, schedule: 'cron(30 1 ? * SUN *)', timeZone: 'Europe/Berlin' };
    // winter: 01:30 CET = 00:30 UTC
    expect(windowAt(berlin, new Date('2026-11-29T00:31:00Z'))?.start).toEqual(
      new Date('2026-11-29T00:30:00Z'),
    );
    // summer: 01:30 CEST = 23:30 UTC the day before
    expect(windowAt(berlin, new Date('2026-07-05T23:45:00Z'))).toBeUndefined();
    expect(windowAt(berlin, new Date('2026-07-04T23:45:00Z'))?.start).toEqual(
      new Date('2026-07-04T23:30:00Z'),
    );
  });

  it('computes the next window start for the Paused message', () => {
    expect(nextWindowStart(sunday2am, NOW)).toEqual(new Date('2026-12-06T02:00:00Z'));
    const firstMonday = { ...sunday2am, schedule: 'cron(15 22 ? * MON#1 *)', timeZone: 'America/New_York' };
    // the first Monday of December 2026 is the 7th; 22:15 EST = 03:15 UTC on the 8th
    expect(nextWindowStart(firstMonday, NOW)).toEqual(new Date('2026-12-08T03:15:00Z'));
    const lastDay = { ...sunday2am, schedule: 'cron(0 0 L * ? *)' };
    expect(nextWindowStart(lastDay, NOW)).toEqual(new Date('2026-11-30T00:00:00Z'));
  });

  it('says whether a node that takes N minutes still fits in the window', () => {
    const end = new Date('2026-11-29T06:00:00Z');
    expect(windowOpenFor(end, new Date('2026-11-29T05:30:00Z'), 30)).toBe(true);
    expect(windowOpenFor(end, new Date('2026-11-29T05:31:00Z'), 30)).toBe(false);
    expect(windowOpenFor(end, new Date('2026-11-29T06:00:00Z'), 0)).toBe(true);
  });

  it('gives a manual run outside the window one window length from now, and a scheduled one nothing', () => {
    const outside = new Date('2026-11-27T12:00:00Z');
    expect(runWindowEnd(sunday2am, outside, false)).toBeUndefined();
    expect(runWindowEnd(sunday2am, outside, true)?.end).toEqual(new Date('2026-11-27T16:00:00Z'));
  });

  it('rejects a schedule whose windows cannot be computed', () => {
    expect(() => parseCron('rate(1 day)')).toThrow(UnsupportedCronError);
    expect(() => parseCron('cron(0 2 15W * ? *)')).toThrow(/nearest weekday/);
    expect(() => parseCron('cron(0 25 ? * SUN *)')).toThrow(/"25"/);
  });
});

describe('patching config block', () => {
  const base = { name: 'prod', kind: 'kubeadm', region: 'eu-west-1' } as const;

  it('fills every default from an empty block, and is off without one', () => {
    const c = parseConfig({ clusters: [{ ...base, patching: {} }] }).clusters[0]!;
    expect(c.patching).toEqual({ enabled: true, ...PATCHING_DEFAULTS });
    const off = parseConfig({ clusters: [base] }).clusters[0]!;
    expect(off.patching).toBeUndefined();
    expect(patchingSettings(off)).toEqual({ enabled: false, ...PATCHING_DEFAULTS });
  });

  it('keeps what the block sets', () => {
    const c = parseConfig({
      clusters: [
        {
          ...base,
          patching: {
            window: { schedule: 'cron(0 22 ? * SAT *)', timeZone: 'Europe/Berlin' },
            maxUnavailable: '10%',
            errorBudget: 3,
            drain: { onPdbTimeout: 'disable-eviction' },
            blockers: { alarms: ['api-5xx'], holdPodSelector: 'app=batch' },
          },
        },
      ],
    }).clusters[0]!;
    expect(c.patching).toMatchObject({
      window: { schedule: 'cron(0 22 ? * SAT *)', timeZone: 'Europe/Berlin', durationMinutes: 240 },
      maxUnavailable: '10%',
      errorBudget: 3,
      drain: { onPdbTimeout: 'disable-eviction', timeoutSeconds: 600 },
      blockers: { alarms: ['api-5xx'], holdLabel: 'caretaker.io/hold', holdPodSelector: 'app=batch' },
    });
  });

  it('rejects bad values naming the field', () => {
    const bad = (patching: unknown) => () => parseConfig({ clusters: [{ ...base, patching }] });
    expect(bad({ maxUnavailable: '150%' })).toThrow(/patching\.maxUnavailable/);
    expect(bad({ maxUnavailable: 0 })).toThrow(/patching\.maxUnavailable: must allow at least one node/);
    expect(bad({ drain: { onPdbTimeout: 'force' } })).toThrow(/patching\.drain\.onPdbTimeout/);
    expect(bad({ window: { schedule: 'rate(7 days)' } })).toThrow(/patching\.window\.schedule/);
    expect(bad({ window: { durationMinutes: 30, nodeMinutes: 45 } })).toThrow(
      /patching\.window\.nodeMinutes/,
    );
    expect(bad({ blockers: { holdLabel: 'bad label!' } })).toThrow(/patching\.blockers\.holdLabel/);
    expect(() =>
      parseConfig({ clusters: [{ name: 'e', kind: 'eks', region: 'eu-west-1', patching: {} }] }),
    ).toThrow(InvalidInputError);
  });
});

describe('resolveCount', () => {
  it('takes a count as it is and a percentage rounded down, at least one of a non-empty fleet', () => {
    expect(resolveCount(3, 10)).toBe(3);
    expect(resolveCount('25%', 10)).toBe(2);
    expect(resolveCount('5%', 10, 1)).toBe(1);
    expect(resolveCount('5%', 10)).toBe(0);
    expect(resolveCount('0%', 10, 1)).toBe(0);
    expect(resolveCount('50%', 0, 1)).toBe(0);
  });
});

describe('planPatch', () => {
  it('skips and names held, not Ready, cordoned-by-someone-else and recently patched nodes', () => {
    const nodes = [
      node('ok'),
      node('label', { labels: { 'caretaker.io/hold': 'true' } }),
      node('pod', { heldByPods: ['batch/job-1'] }),
      node('down', { ready: false }),
      node('theirs', { unschedulable: true, cordonedBy: 'someone' }),
      node('manual', { unschedulable: true }),
      node('fresh', { annotations: { 'caretaker.io/patched-at': daysAgo(2) } }),
      node('mine', { unschedulable: true, cordonedBy: OWNER }),
    ];
    const plan = planPatch(request(nodes));
    expect(plan.items.map((i) => i.node).sort()).toEqual(['mine', 'ok']);
    expect(Object.fromEntries(plan.skipped.map((s) => [s.node, s.reason]))).toEqual({
      label: 'held-by-label',
      pod: 'held-by-pod',
      down: 'not-ready',
      theirs: 'cordoned-by-someone-else',
      manual: 'cordoned-by-someone-else',
      fresh: 'patched-recently',
    });
    expect(plan.skipped.find((s) => s.node === 'pod')!.detail).toContain('batch/job-1');
    expect(plan.skipped.find((s) => s.node === 'theirs')!.detail).toContain('someone');
  });

  it('names workers with no Node and Nodes with no worker, but not control-plane Nodes', () => {
    const a = node('a');
    const stray = node('stray');
    const cp = node('cp', { labels: { 'node-role.kubernetes.io/control-plane': '' } });
    const plan = planPatch({
      ...request([a, stray, cp]),
      workers: [workerOf(a), { instanceId: 'i-0000000000000dead', name: 'lost' }],
    });
    expect(plan.items.map((i) => i.node)).toEqual(['a']);
    expect(plan.skipped).toEqual([
      expect.objectContaining({ node: 'stray', reason: 'no-instance' }),
      expect.objectContaining({ instanceId: 'i-0000000000000dead', reason: 'no-node' }),
    ]);
  });

  it('joins by providerID when the inventory gives no instance id', () => {
    const n = node('a');
    const plan = planPatch(request([n]));
    expect(plan.items[0]).toEqual({
      node: 'a',
      instanceId: workerOf(n).instanceId,
      availabilityZone: 'eu-west-1a',
    });
  });

  it('orders oldest patch first (never patched first) and spreads over zones', () => {
    const zone = (z: string, name: string, days?: number) =>
      node(name, {
        providerID: `aws:///eu-west-1${z}/${node(name).providerID.split('/').pop()}`,
        annotations: days === undefined ? {} : { 'caretaker.io/patched-at': daysAgo(days) },
      });
    const nodes = [
      zone('a', 'a1', 30),
      zone('a', 'a2', 20),
      zone('a', 'a3'),
      zone('b', 'b1', 25),
      zone('b', 'b2', 10),
      zone('c', 'c1', 40),
    ];
    const plan = planPatch(request(nodes));
    // round 1: the oldest of each zone, oldest first; then round 2, then round 3
    expect(plan.items.map((i) => i.node)).toEqual(['a3', 'c1', 'b1', 'a1', 'b2', 'a2']);
    expect(plan.items[0]!.lastPatchedAt).toBeUndefined();
    expect(plan.items[1]!.lastPatchedAt).toBe(daysAgo(40));
    expect(plan.oldestPatchDays).toBe(40);
    expect(plan.neverPatched).toBe(1);
  });

  it('orders longest last patch first (unknown first, ties oldest first) and spreads over zones', () => {
    const zone = (z: string, name: string, seconds?: number, days = 30) =>
      node(name, {
        providerID: `aws:///eu-west-1${z}/${node(name).providerID.split('/').pop()}`,
        annotations: {
          'caretaker.io/patched-at': daysAgo(days),
          ...(seconds === undefined
            ? { 'caretaker.io/patch-summary': 'manager=apt,packages=3,rebooted=true' }
            : { 'caretaker.io/patch-summary': `manager=apt,packages=3,rebooted=true,seconds=${seconds}` }),
        },
      });
    const nodes = [
      zone('a', 'a1', 300),
      zone('a', 'a2', 2400),
      zone('a', 'a3', undefined, 20),
      zone('b', 'b1', 600),
      zone('b', 'b2', 900),
      zone('c', 'c1', 300, 40),
      zone('c', 'c2', undefined, 25),
    ];
    const plan = planPatch(request(nodes));
    // per zone: a3 (unknown), a2, a1 | b2, b1 | c2 (unknown), c1. Round 1 is the first of each
    // zone: the two unknowns (a tie: c2, patched 25 days ago, before a3, 20 days), then b2; round
    // 2: a2, b1, c1; round 3: a1
    expect(plan.items.map((i) => i.node)).toEqual(['c2', 'a3', 'b2', 'a2', 'b1', 'c1', 'a1']);
    expect(plan.items.find((i) => i.node === 'a2')!.lastPatchSeconds).toBe(2400);
    expect(plan.items[0]!.lastPatchSeconds).toBeUndefined();
  });

  it('in one zone is longest-first list scheduling, which beats the old oldest-first order', () => {
    // 9 nodes, 3 slots: oldest-first happens to put the long node last
    const seconds = [100, 100, 100, 100, 100, 100, 100, 100, 300];
    const nodes = seconds.map((s, i) =>
      node(`n${i}`, {
        annotations: {
          'caretaker.io/patched-at': daysAgo(60 - i),
          'caretaker.io/patch-summary': `manager=dnf,packages=1,rebooted=false,seconds=${s}`,
        },
      }),
    );
    const plan = planPatch(request(nodes));
    expect(plan.items.map((i) => i.lastPatchSeconds)).toEqual([300, 100, 100, 100, 100, 100, 100, 100, 100]);
    expect(plan.items[0]!.node).toBe('n8');
    const makespan = (times: number[], m: number) => {
      const free = new Array<number>(m).fill(0);
      for (const t of times) {
        const i = free.indexOf(Math.min(...free));
        free[i] = free[i]! + t;
      }
      return Math.max(...free);
    };
    // the bound is max(1100 / 3, 300) ≈ 367: longest first reaches 400, oldest first 500
    expect(
      makespan(
        plan.items.map((i) => i.lastPatchSeconds!),
        3,
      ),
    ).toBe(400);
    expect(makespan(seconds, 3)).toBe(500);
  });

  it('reads the last patch duration from the summary, and nothing from a summary without it', () => {
    const at = (summary: string) => lastPatchSeconds({ 'caretaker.io/patch-summary': summary });
    expect(at('manager=apt,packages=2,rebooted=true,seconds=754')).toBe(754);
    expect(at('seconds=12,manager=apt')).toBe(12);
    expect(at('manager=apt,packages=2,rebooted=true')).toBeUndefined();
    expect(at('manager=apt,xseconds=5')).toBeUndefined();
    expect(at('manager=apt,seconds=-5')).toBeUndefined();
    expect(at('manager=apt,seconds=5s')).toBeUndefined();
    expect(lastPatchSeconds({})).toBeUndefined();
  });

  it('resolves maxUnavailable against the fleet minus nodes already down, and the error budget against the plan', () => {
    const nodes = Array.from({ length: 20 }, (_, i) => node(`n${String(i).padStart(2, '0')}`));
    nodes[0] = { ...nodes[0]!, ready: false };
    const plan = planPatch(
      request(nodes, { settings: { ...settings, maxUnavailable: '25%', errorBudget: '10%' } }),
    );
    expect(plan.workers).toBe(20);
    expect(plan.maxUnavailable).toBe(5);
    expect(plan.alreadyUnavailable).toBe(1);
    expect(plan.maxConcurrency).toBe(4);
    expect(plan.items).toHaveLength(19);
    expect(plan.toleratedFailures).toBe(1);
  });

  it('allows no node to start when as many nodes as maxUnavailable are down already', () => {
    const plan = planPatch(request([node('a'), node('b', { ready: false })]));
    expect(plan.maxUnavailable).toBe(1);
    expect(plan.maxConcurrency).toBe(0);
  });

  it('keeps the plan summary of 5,000 workers far below the 256 KB state payload limit', () => {
    const nodes = Array.from({ length: 5000 }, (_, i) =>
      node(`ip-10-0-${Math.floor(i / 250)}-${i % 250}.eu-west-1.compute.internal`, {
        providerID: `aws:///eu-west-1${'abc'[i % 3]}/i-${i.toString(16).padStart(17, '0')}`,
        heldByPods: i % 7 === 0 ? ['batch/long-job-with-a-long-name'] : [],
      }),
    );
    const plan = planPatch(request(nodes));
    expect(plan.items.length + plan.skipped.length).toBe(5000);
    const summary = JSON.stringify(summarizePlan(plan));
    expect(Buffer.byteLength(summary)).toBeLessThan(16 * 1024);
    // one Map item (what the ItemReader hands each child execution) stays tiny too
    expect(Buffer.byteLength(JSON.stringify(plan.items[0]))).toBeLessThan(512);
  });
});

describe('finishRun', () => {
  const items = ['a', 'b', 'c', 'd'].map((n) => ({ node: n, instanceId: `i-${n}`, availabilityZone: 'z' }));
  const result = (n: string, outcome: NodeResult['outcome'], over: Partial<NodeResult> = {}): NodeResult => ({
    node: n,
    instanceId: `i-${n}`,
    outcome,
    at: NOW.toISOString(),
    ...over,
  });

  it('succeeds when every planned node was patched', () => {
    const r = finishRun({
      items: items.slice(0, 2),
      results: [result('a', 'patched', { rebooted: true, durationSeconds: 300 }), result('b', 'patched')],
      after: [node('a'), node('b')],
      owner: OWNER,
      budgetExceeded: false,
    });
    expect(r).toMatchObject({ outcome: 'Succeeded', patched: ['a', 'b'], rebooted: ['a'], leftCordoned: [] });
    expect(r.durations).toEqual([300]);
  });

  it('pauses with what is left when the window closed', () => {
    const r = finishRun({
      items,
      results: [
        result('a', 'patched'),
        result('b', 'not-started', { reason: 'the maintenance window closes at 06:00' }),
      ],
      after: [],
      owner: OWNER,
      budgetExceeded: false,
    });
    expect(r.outcome).toBe('Paused');
    expect(r.notStarted.map((n) => n.node)).toEqual(['b', 'c', 'd']);
    expect(r.why).toContain('window');
  });

  it('fails when the error budget ran out and names every node it left cordoned with the undo command', () => {
    const r = finishRun({
      items,
      results: [
        result('a', 'failed', { reason: 'the drain timed out: PDB web blocks', leftCordoned: false }),
        result('b', 'failed', { reason: 'not Ready after the reboot', leftCordoned: true }),
      ],
      after: [
        node('b', { unschedulable: true, cordonedBy: OWNER }),
        node('c', { unschedulable: true, cordonedBy: OWNER }),
        node('x', { unschedulable: true, cordonedBy: 'someone-else' }),
      ],
      owner: OWNER,
      budgetExceeded: true,
    });
    expect(r.outcome).toBe('Failed');
    expect(r.leftCordoned).toEqual([
      { node: 'b', reason: 'not Ready after the reboot', undo: undoCordon('b') },
      { node: 'c', reason: 'the run stopped while the node was in flight', undo: undoCordon('c') },
    ]);
    expect(undoCordon('b')).toBe('kubectl uncordon b && kubectl annotate node b caretaker.io/cordoned-by-');
  });

  it('names what the items recorded when the Nodes could not be read after the run', () => {
    const r = finishRun({
      items: items.slice(0, 1),
      results: [result('a', 'failed', { reason: 'patch failed', leftCordoned: true })],
      owner: OWNER,
      budgetExceeded: false,
    });
    expect(r.swept).toBe(false);
    expect(r.leftCordoned.map((l) => l.node)).toEqual(['a']);
  });
});
