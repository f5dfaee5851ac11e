/**
 * The patch-workers bench: 200 workers, maxUnavailable 20, per-node patch times drawn from a
 * skewed (log-normal) distribution, run through the real ASL in the local runner with time
 * scaled down (1 minute = 200 ms; Wait states take no time). Two runs a month apart: the first
 * has no recorded durations; record-patch writes each node's (`seconds=` in its patch summary),
 * and the second run's plan orders longest first by them. Each node keeps a base time and varies
 * from month to month (MONTH_SIGMA), so the plan's knowledge is last month's, not the truth.
 * The headline is the second run's makespan, set against
 *
 * - the sliding-window lower bound: max(total node time / maxUnavailable, the longest node);
 * - greedy list scheduling of the same times in plan order (what an ideal sliding window does);
 * - batch by batch (20 nodes, wait for all 20, the next 20), what rigid batches cost.
 *
 * Also the state transitions and Lambda invocations per patched node (cost: Standard workflows
 * bill per transition), and the time to plan 5,000 workers.
 */
import { performance } from 'node:perf_hooks';
import { planPatch, type InventoryNode } from '../functions/shared/domain/patching/plan';
import { PATCHING_DEFAULTS } from '../functions/shared/workflows/patch-workers';
import { PatchWorld } from '../test/asl/patch-world';

/** scaled time: one minute of a real window is this many milliseconds here */
export const MS_PER_MINUTE = 200;
const WORKERS = 200;
const MAX_UNAVAILABLE = 20;
/** node patch times: median 10 minutes, log-normal σ 0.6, within 3 and 45 minutes */
const MEDIAN_MINUTES = 10;
const SIGMA = 0.6;

/** a small seeded PRNG (mulberry32), so every run draws the same times */
function prng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** per-node minutes, log-normal (Box-Muller), clipped */
export function drawMinutes(n: number, seed = 11): number[] {
  const rand = prng(seed);
  return Array.from({ length: n }, () => {
    const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    return Math.min(45, Math.max(3, MEDIAN_MINUTES * Math.exp(SIGMA * z)));
  });
}

/** the finish time of greedy list scheduling on m machines, jobs in order */
export function greedyMakespan(times: readonly number[], m: number): number {
  const free = new Array<number>(m).fill(0);
  for (const t of times) {
    let i = 0;
    for (let j = 1; j < m; j++) if (free[j]! < free[i]!) i = j;
    free[i] = free[i]! + t;
  }
  return Math.max(...free);
}

/** batch by batch: each batch of m takes as long as its slowest node */
export function batchMakespan(times: readonly number[], m: number): number {
  let total = 0;
  for (let at = 0; at < times.length; at += m) total += Math.max(...times.slice(at, at + m));
  return total;
}

export function lowerBound(times: readonly number[], m: number): number {
  return Math.max(times.reduce((a, b) => a + b, 0) / m, Math.max(...times));
}

/** planPatch over 5,000 workers: the median of `runs` timings */
export function benchPlan(workers = 5000, runs = 7) {
  const nodes: InventoryNode[] = Array.from({ length: workers }, (_, i) => ({
    name: `ip-10-${Math.floor(i / 250)}-${i % 250}-1.eu-west-1.compute.internal`,
    providerID: `aws:///eu-west-1${'abc'[i % 3]}/i-${i.toString(16).padStart(17, '0')}`,
    labels: (i % 50 === 0 ? { 'caretaker.io/hold': 'true' } : {}) as Record<string, string>,
    annotations: (i % 4 === 0
      ? {}
      : { 'caretaker.io/patched-at': new Date(Date.UTC(2026, 9, 1 + (i % 60))).toISOString() }) as Record<
      string,
      string
    >,
    unschedulable: i % 97 === 0,
    ready: i % 89 !== 0,
    heldByPods: i % 31 === 0 ? ['batch/nightly'] : [],
  }));
  const instances = nodes.map((n) => ({
    instanceId: /i-[0-9a-f]+$/.exec(n.providerID)![0],
    availabilityZone: n.providerID.split('/')[3],
  }));
  const settings = { ...PATCHING_DEFAULTS, maxUnavailable: '2%' as const, errorBudget: '1%' as const };
  const timings: number[] = [];
  let planned = 0;
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    const plan = planPatch({
      workers: instances,
      nodes,
      settings,
      now: new Date('2026-11-29T03:00:00Z'),
      owner: 'bench',
    });
    timings.push(performance.now() - t0);
    planned = plan.items.length;
  }
  timings.sort((a, b) => a - b);
  const medianMs = timings[Math.floor(runs / 2)]!;
  return {
    workers,
    planned,
    medianMs: Number(medianMs.toFixed(1)),
    targetMs: 200,
    meetsTarget: medianMs < 200,
  };
}

/** the same node's time from one month to the next: base × a log-normal factor of this σ */
const MONTH_SIGMA = 0.2;
/** the two runs: a month apart, both Sundays in the default window */
const LAST_MONTH = { at: '2026-11-29T02:30:00.000Z', execution: 'patch-workers-prod-eu-20261129T020000Z' };
const THIS_MONTH = { at: '2026-12-27T02:30:00.000Z', execution: 'patch-workers-prod-eu-20261227T020000Z' };

/** one month's per-node minutes: each node's base time × its own noise this month, clipped */
export function monthMinutes(base: readonly number[], seed: number, sigma = MONTH_SIGMA): number[] {
  const rand = prng(seed);
  return base.map((b) => {
    const z = Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());
    return Math.min(45, Math.max(3, b * Math.exp(sigma * z)));
  });
}

/**
 * The Lambdas' clock runs with the scaled time (1 minute = MS_PER_MINUTE ms from `at`), so
 * record-patch measures each node's duration in the run's own minutes, and the next run's plan
 * orders by them.
 */
function scaleClock(world: PatchWorld, at: string) {
  const base = Date.parse(at);
  const t0 = performance.now();
  Object.defineProperty(world, 'now', {
    configurable: true,
    get: () => new Date(base + (performance.now() - t0) * (60_000 / MS_PER_MINUTE)),
    set: () => undefined,
  });
}

/** one run through the real ASL with these per-node times, and what it took against the bound */
async function runMonth(world: PatchWorld, minutes: readonly number[], month: typeof LAST_MONTH) {
  const nodes = [...world.nodes.values()];
  nodes.forEach((n, i) => {
    n.patchMs = Math.round(minutes[i]! * MS_PER_MINUTE);
  });
  const sentBefore = world.sent.length;
  scaleClock(world, month.at);
  // the execution starts at its first Task: before it, the local runner parses and checks the
  // ASL (≈0.3 s on a quiet machine, ≈1.8 s at load 12), which StartExecution does not cost in AWS
  let firstTaskAt: number | undefined;
  const fakes = world.fakes.bind(world);
  world.fakes = () =>
    Object.fromEntries(
      Object.entries(fakes()).map(([target, fake]) => [
        target,
        (...args: Parameters<typeof fake>) => {
          firstTaskAt ??= performance.now();
          return fake(...args);
        },
      ]),
    );
  const t0 = performance.now();
  const result = await world.run({}, { executionName: month.execution });
  const end = performance.now();
  const wallEnd = Date.now();
  const wall0 = wallEnd - (end - firstTaskAt!);
  const makespanMs = end - firstTaskAt!;
  const runnerStartMs = firstTaskAt! - t0;
  const patched = nodes.filter((n) =>
    n.annotations['caretaker.io/patched-at']?.startsWith(month.at.slice(0, 10)),
  ).length;

  // the plan's order is the order the Map starts nodes in
  const planKey = [...world.store.objects.keys()].find((k) => k.endsWith(`/${month.execution}/plan.json`))!;
  const order = (JSON.parse(world.store.objects.get(planKey)!.body) as { node: string }[]).map((i) => i.node);
  const byName = new Map(nodes.map((n, i) => [n.name, minutes[i]! * MS_PER_MINUTE]));
  const nominal = order.map((n) => byName.get(n)!);
  // what each node took in the run, cordon to record, overheads included
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  for (const c of world.sent.slice(sentBefore)) {
    if (!c.node) continue;
    if (!first.has(c.node)) first.set(c.node, c.at);
    last.set(c.node, c.at);
  }
  const measured = order.map((n) => (last.get(n) ?? 0) - (first.get(n) ?? 0));
  const firstNodeAt = Math.min(...first.values());
  const inventoryAt = world.sent.slice(sentBefore).find((c) => c.command === 'node-inventory')?.at ?? wall0;
  const lastNodeAt = Math.max(...last.values());
  const bound = lowerBound(nominal, MAX_UNAVAILABLE);
  const greedy = greedyMakespan(nominal, MAX_UNAVAILABLE);
  const lpt = greedyMakespan(
    [...nominal].sort((a, b) => b - a),
    MAX_UNAVAILABLE,
  );
  const round = (x: number) => Number(x.toFixed(0));
  return {
    result,
    patched,
    order,
    bound,
    makespanMs,
    figures: {
      status: result.status,
      patched,
      nodeMinutes: {
        median: Number([...minutes].sort((a, b) => a - b)[Math.floor(minutes.length / 2)]!.toFixed(1)),
        mean: Number((minutes.reduce((a, b) => a + b, 0) / minutes.length).toFixed(1)),
        max: Number(Math.max(...minutes).toFixed(1)),
      },
      /** the execution's first Task to its end */
      makespanMs: round(makespanMs),
      /** the local runner's own start (parsing the ASL), before the first Task: not in makespanMs */
      runnerStartMs: round(runnerStartMs),
      lowerBoundMs: round(bound),
      /** greedy list scheduling of the true times in the plan's order: an ideal sliding window */
      greedyInPlanOrderMs: round(greedy),
      /** greedy list scheduling of the true times, longest first: what perfect foresight gives */
      longestFirstIdealMs: round(lpt),
      makespanOverBound: Number((makespanMs / bound).toFixed(3)),
      /** the run's own steps, from its first Task, before the first node and after the last (lock, plan, sweep, report) */
      beforeFirstNodeMs: round(firstNodeAt - wall0),
      /** of which: start to the inventory command (lock, prepare), then inventory to the first node (plan, Map start) */
      beforeInventoryMs: round(inventoryAt - wall0),
      inventoryToFirstNodeMs: round(firstNodeAt - inventoryAt),
      afterLastNodeMs: round(wallEnd - lastNodeAt),
      /** the Map alone, first node's first command to last node's last, against the bound */
      nodesPhaseOverBound: Number(((lastNodeAt - firstNodeAt) / bound).toFixed(3)),
      greedyInPlanOrderOverBound: Number((greedy / bound).toFixed(3)),
      longestFirstIdealOverBound: Number((lpt / bound).toFixed(3)),
      /** what a node took in the run beyond its patch time: the ASL and the Lambdas around it */
      perNodeOverheadMs: round(
        measured.reduce((a, b) => a + b, 0) / measured.length -
          nominal.reduce((a, b) => a + b, 0) / nominal.length,
      ),
    },
  };
}

/**
 * Without the ASL: how close the plan's order (planPatch itself, from last month's recorded
 * seconds) gets to the bound when a node's time varies more or less from month to month. Greedy
 * list scheduling of this month's true times in the plan's order; mean and worst over `seeds`.
 */
export function orderSensitivity(base: readonly number[], sigmas = [0, 0.1, 0.2, 0.4, 0.6], seeds = 20) {
  const at = new Date(THIS_MONTH.at);
  const nodes = base.map((_, i) => ({
    name: `ip-10-0-${i}-1.eu-west-1.compute.internal`,
    instanceId: `i-${(0x1000 + i).toString(16).padStart(17, '0')}`,
    zone: `eu-west-1${'abc'[i % 3]}`,
  }));
  const workers = nodes.map((n) => ({ instanceId: n.instanceId, availabilityZone: n.zone }));
  return sigmas.map((sigma) => {
    const ratios: number[] = [];
    for (let seed = 1; seed <= seeds; seed++) {
      const last = monthMinutes(base, 1000 + seed, sigma);
      const now = monthMinutes(base, 2000 + seed, sigma);
      const plan = planPatch({
        workers,
        nodes: nodes.map((n, i) => ({
          name: n.name,
          providerID: `aws:///${n.zone}/${n.instanceId}`,
          labels: {},
          annotations: {
            'caretaker.io/patched-at': LAST_MONTH.at,
            'caretaker.io/patch-summary': `manager=apt,packages=3,rebooted=false,seconds=${Math.round(last[i]! * 60)}`,
          },
          unschedulable: false,
          ready: true,
          heldByPods: [],
        })),
        settings: { ...PATCHING_DEFAULTS, maxUnavailable: MAX_UNAVAILABLE, errorBudget: 0 },
        now: at,
        owner: 'bench',
      });
      const index = new Map(nodes.map((n, i) => [n.name, i]));
      const times = plan.items.map((item) => now[index.get(item.node)!]!);
      ratios.push(greedyMakespan(times, MAX_UNAVAILABLE) / lowerBound(times, MAX_UNAVAILABLE));
    }
    return {
      monthToMonthSigma: sigma,
      meanOverBound: Number((ratios.reduce((a, b) => a + b, 0) / ratios.length).toFixed(3)),
      worstOverBound: Number(Math.max(...ratios).toFixed(3)),
    };
  });
}

export async function runPatchBench(log: (line: string) => void) {
  // each node has a base time (its size, its package set); a month varies it by MONTH_SIGMA
  const base = drawMinutes(WORKERS);
  const lastMonth = monthMinutes(base, 101);
  const thisMonth = monthMinutes(base, 202);
  const world = new PatchWorld({
    workers: WORKERS,
    // the window is never the limit here; nothing fails
    patching: { maxUnavailable: MAX_UNAVAILABLE, errorBudget: WORKERS, window: { durationMinutes: 1440 } },
  });
  log(`bench patch: ${WORKERS} workers, maxUnavailable ${MAX_UNAVAILABLE}, through the real ASL…`);
  log('bench patch: last month (no recorded durations: the plan cannot know which node is long)…');
  const first = await runMonth(world, lastMonth, LAST_MONTH);
  log('bench patch: this month (the plan orders by last month’s recorded durations)…');
  const second = await runMonth(world, thisMonth, THIS_MONTH);
  const recorded = [...world.nodes.values()].filter((n) =>
    /(?:^|,)seconds=\d+/.test(n.annotations['caretaker.io/patch-summary'] ?? ''),
  ).length;

  const batches = batchMakespan(
    second.order.map((n) => thisMonth[[...world.nodes.keys()].indexOf(n)]! * MS_PER_MINUTE),
    MAX_UNAVAILABLE,
  );
  const { result, patched, makespanMs, bound } = second;
  if (recorded !== WORKERS) throw new Error(`only ${recorded} of ${WORKERS} nodes carry a recorded duration`);
  const transitions = result.states.length + result.iterationStates.length;
  const sends = result.callsTo('send-command').length;
  // in AWS every command also invokes complete-command once (the SSM status event)
  const invocations = result.calls.length + sends;
  return {
    workers: WORKERS,
    maxUnavailable: MAX_UNAVAILABLE,
    timeScale: `1 minute = ${MS_PER_MINUTE} ms`,
    model: `node minutes = base (log-normal, median ${MEDIAN_MINUTES}, σ ${SIGMA}) × a month's factor (log-normal σ ${MONTH_SIGMA}), within 3 and 45`,
    maxInFlight: world.maxInFlight,
    /** the headline: this month's run, planned from last month's recorded durations */
    nodesWithRecordedSeconds: recorded,
    ...second.figures,
    batchByBatchMs: Number(batches.toFixed(0)),
    batchOverBound: Number((batches / bound).toFixed(3)),
    makespanOverBatch: Number((makespanMs / batches).toFixed(3)),
    goal: 'makespan <= 1.05 x the sliding-window lower bound',
    meetsGoal: makespanMs <= 1.05 * bound,
    /** the first run: no durations recorded yet, so unknown nodes go first in name/age order */
    firstRunWithoutHistory: first.figures,
    /** planPatch's order against this month's times, as the month-to-month variation grows */
    orderSensitivity: orderSensitivity(base),
    stateTransitionsPerNode: Number((transitions / patched).toFixed(1)),
    lambdaInvocationsPerNode: Number((invocations / patched).toFixed(1)),
    plan5000: benchPlan(),
  };
}
