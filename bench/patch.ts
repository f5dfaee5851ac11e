/**
 * The patch-workers bench: 200 workers, maxUnavailable 20, per-node patch times drawn from a
 * skewed (log-normal) distribution, run through the real ASL in the local runner with time
 * scaled down (1 minute = 200 ms; Wait states take no time). The makespan is set against
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

export async function runPatchBench(log: (line: string) => void) {
  const minutes = drawMinutes(WORKERS);
  const world = new PatchWorld({
    workers: WORKERS,
    // the window is never the limit here; nothing fails
    patching: { maxUnavailable: MAX_UNAVAILABLE, errorBudget: WORKERS, window: { durationMinutes: 1440 } },
  });
  [...world.nodes.values()].forEach((n, i) => {
    n.patchMs = Math.round(minutes[i]! * MS_PER_MINUTE);
  });
  log(`bench patch: ${WORKERS} workers, maxUnavailable ${MAX_UNAVAILABLE}, through the real ASL…`);
  const t0 = performance.now();
  const result = await world.run();
  const makespanMs = performance.now() - t0;
  const patched = [...world.nodes.values()].filter((n) => n.annotations['caretaker.io/patched-at']).length;

  // the plan's order is the order the Map starts nodes in
  const order = (
    JSON.parse(
      world.store.objects.get([...world.store.objects.keys()].find((k) => k.endsWith('/plan.json'))!)!.body,
    ) as { node: string }[]
  ).map((i) => i.node);
  const byName = new Map([...world.nodes.values()].map((n, i) => [n.name, minutes[i]! * MS_PER_MINUTE]));
  const nominal = order.map((n) => byName.get(n)!);
  // what each node took in the run, cordon to record, overheads included
  const first = new Map<string, number>();
  const last = new Map<string, number>();
  for (const c of world.sent) {
    if (!c.node) continue;
    if (!first.has(c.node)) first.set(c.node, c.at);
    last.set(c.node, c.at);
  }
  const measured = order.map((n) => (last.get(n) ?? 0) - (first.get(n) ?? 0));

  const bound = lowerBound(nominal, MAX_UNAVAILABLE);
  const greedy = greedyMakespan(nominal, MAX_UNAVAILABLE);
  const batches = batchMakespan(nominal, MAX_UNAVAILABLE);
  const transitions = result.states.length + result.iterationStates.length;
  const sends = result.callsTo('send-command').length;
  // in AWS every command also invokes complete-command once (the SSM status event)
  const invocations = result.calls.length + sends;
  const round = (x: number) => Number(x.toFixed(0));
  return {
    workers: WORKERS,
    maxUnavailable: MAX_UNAVAILABLE,
    status: result.status,
    patched,
    maxInFlight: world.maxInFlight,
    timeScale: `1 minute = ${MS_PER_MINUTE} ms`,
    nodeMinutes: {
      median: Number([...minutes].sort((a, b) => a - b)[Math.floor(WORKERS / 2)]!.toFixed(1)),
      mean: Number((minutes.reduce((a, b) => a + b, 0) / WORKERS).toFixed(1)),
      max: Number(Math.max(...minutes).toFixed(1)),
    },
    makespanMs: round(makespanMs),
    lowerBoundMs: round(bound),
    greedyIdealMs: round(greedy),
    batchByBatchMs: round(batches),
    makespanOverBound: Number((makespanMs / bound).toFixed(3)),
    greedyOverBound: Number((greedy / bound).toFixed(3)),
    batchOverBound: Number((batches / bound).toFixed(3)),
    makespanOverBatch: Number((makespanMs / batches).toFixed(3)),
    /** what a node took in the run beyond its patch time: the ASL and the Lambdas around it */
    perNodeOverheadMs: round(
      measured.reduce((a, b) => a + b, 0) / measured.length -
        nominal.reduce((a, b) => a + b, 0) / nominal.length,
    ),
    goal: 'makespan <= 1.05 x the sliding-window lower bound',
    meetsGoal: makespanMs <= 1.05 * bound,
    stateTransitionsPerNode: Number((transitions / patched).toFixed(1)),
    lambdaInvocationsPerNode: Number((invocations / patched).toFixed(1)),
    plan5000: benchPlan(),
  };
}
