/**
 * The etcd backup end to end in the local sandbox, at one or more database sizes: how long the
 * workflow takes, how much of that is the node's own work, and how fast the workflow moves on
 * once a node command has ended.
 */
import type { RunEvent } from '../sandbox/asl-runner';
import { EtcdCluster } from '../sandbox/etcd-cluster';
import type { CommandRecord } from '../sandbox/local-fleet';
import { offlineEnvironment } from '../sandbox/main';
import type { Sandbox } from '../sandbox/sandbox';

export interface BackupSize {
  name: string;
  keys: number;
  valueBytes: number;
}

export const SIZES: Record<string, BackupSize> = {
  small: { name: 'small', keys: 3000, valueBytes: 200 },
  large: { name: 'large', keys: 200_000, valueBytes: 1000 },
};

/** the target from the issue: orchestration overhead at most 10% of the node-side time, at 200 MB */
export const OVERHEAD_TARGET = 0.1;
/** sizes from this many MB of seeded data on count as "at ~200 MB" for the target */
export const TARGET_APPLIES_FROM_MB = 100;

/** "small", "large", or "<keys>x<valueBytes>" (e.g. "50000x1000") */
export function parseSizes(spec: string): BackupSize[] {
  return spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
    .map((s) => {
      const known = SIZES[s];
      if (known) return known;
      const m = /^(\d+)x(\d+)$/.exec(s);
      if (!m) throw new RangeError(`unknown size "${s}": use small, large or <keys>x<valueBytes>`);
      return { name: s, keys: Number(m[1]), valueBytes: Number(m[2]) };
    });
}

export interface CommandFigures {
  document: string;
  instanceId: string;
  status: string;
  wallMs: number;
  /** the Task state that waited on it */
  state?: string;
  /** record.endedAt (script ended, before the status-change event) → that state's StateExited */
  completionLatencyMs?: number;
}

export interface BackupFigures {
  size: BackupSize & { approxDataMB: number };
  /** Sandbox.start: etcd ×3 (+ PKI), seeding, s3rver, dynalite */
  sandboxStartMs: number;
  /** EtcdCluster.seed alone, part of sandboxStartMs */
  seedMs?: number;
  status: string;
  outcome?: string;
  error?: { Error: string; Cause: string };
  snapshot?: { sizeBytes: number; sizeMB: number; totalKeys?: number; revision: number };
  /** wall time around sandbox.run(): from run start until the result is back */
  workflowMs: number;
  /** ExecutionStarted → ExecutionSucceeded/Failed event timestamps */
  executionMs?: number;
  node: {
    /** the etcd-snapshot script's own durationMs (snapshot + checks + upload), from the result */
    snapshotScriptMs?: number;
    /** the etcd-snapshot command's wall time in the fleet (startedAt → endedAt) */
    snapshotCommandMs?: number;
    /** the sum of every node command's wall time (the status checks run in parallel) */
    commandsSumMs: number;
    /** the wall time during which at least one node command ran (union of their intervals) */
    commandsWallMs: number;
  };
  overhead: {
    definition: string;
    ms: number;
    /** overhead / snapshot command wall time */
    ratio?: number;
    /** the brief's literal formula: workflowMs − commandsSumMs (negative when commands overlap) */
    msIfCommandsSummed: number;
    /**
     * executionMs − commandsWallMs: the same, counted from the ExecutionStarted event instead of
     * the run() call, so the harness's setup (loading and checking the ASL) is left out
     */
    inExecutionMs?: number;
    inExecutionRatio?: number;
    target: number;
    /** the issue sets the target at ~200 MB; smaller sizes report the ratio for reference only */
    targetApplies: boolean;
    meetsTarget?: boolean;
  };
  completionLatency: { medianMs?: number; maxMs?: number; unmatched: number };
  commands: CommandFigures[];
  steps: { state: string; ms: number }[];
}

export const median = (xs: number[]): number | undefined => {
  if (xs.length === 0) return undefined;
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
export const round = (n: number, digits = 3) => Number(n.toFixed(digits));

/** total length of the union of [start, end] intervals */
export function unionMs(intervals: [number, number][]): number {
  const sorted = [...intervals].sort((a, b) => a[0] - b[0]);
  let total = 0;
  let cur: [number, number] | undefined;
  for (const [s, e] of sorted) {
    if (!cur || s > cur[1]) {
      if (cur) total += cur[1] - cur[0];
      cur = [s, e];
    } else cur[1] = Math.max(cur[1], e);
  }
  if (cur) total += cur[1] - cur[0];
  return total;
}

/** sandboxes still up: main.ts stops them on SIGINT/SIGTERM */
const active = new Set<Sandbox>();

/** registers a sandbox started elsewhere in bench/ so Ctrl-C stops it too; untrack once stopped */
export function trackSandbox(sandbox: Sandbox): void {
  active.add(sandbox);
}
export function untrackSandbox(sandbox: Sandbox): void {
  active.delete(sandbox);
}

export async function stopActiveSandboxes(): Promise<void> {
  await Promise.allSettled([...active].map((s) => s.stop()));
  active.clear();
}

/** times EtcdCluster.seed (called inside Sandbox.start, which has no hook for it) */
export function timeSeeding(): { ms?: number; restore(): void } {
  const proto = EtcdCluster.prototype;
  const original = Object.getOwnPropertyDescriptor(proto, 'seed')!;
  const seed = proto.seed;
  const timing: { ms?: number; restore(): void } = {
    restore: () => Object.defineProperty(proto, 'seed', original),
  };
  proto.seed = async function (this: EtcdCluster, ...args: Parameters<EtcdCluster['seed']>) {
    const t = performance.now();
    try {
      return await seed.apply(this, args);
    } finally {
      timing.ms = performance.now() - t;
    }
  };
  return timing;
}

interface ExitEvent {
  type: string;
  at: number;
  state: string;
  index?: number;
  output: string;
}

export async function runBackupSize(size: BackupSize, log: (l: string) => void): Promise<BackupFigures> {
  offlineEnvironment();
  // after the environment: the handlers read it when they load (as sandbox/main.ts does)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Sandbox: SandboxClass } = require('../sandbox/sandbox') as typeof import('../sandbox/sandbox');

  const approxDataMB = round((size.keys * size.valueBytes) / 1e6, 1);
  log(`backup[${size.name}]: starting the sandbox, seeding ${size.keys} keys × ${size.valueBytes} B…`);
  const seeding = timeSeeding();
  const afterCommandAt = new Map<CommandRecord, number>();
  let sandbox: Sandbox | undefined;
  const startT = performance.now();
  try {
    sandbox = await SandboxClass.start({
      keys: size.keys,
      valueBytes: size.valueBytes,
      afterCommand: (r) => afterCommandAt.set(r, Date.now()),
    });
    active.add(sandbox);
  } finally {
    seeding.restore();
  }
  const sandboxStartMs = performance.now() - startT;
  log(
    `backup[${size.name}]: up in ${(sandboxStartMs / 1000).toFixed(1)} s (seeding ${((seeding.ms ?? 0) / 1000).toFixed(1)} s); running etcd-backup`,
  );

  try {
    const exits: ExitEvent[] = [];
    const entered = new Map<string, number>();
    const steps: { state: string; ms: number }[] = [];
    let execStart: number | undefined;
    let execEnd: number | undefined;
    const onEvent = (e: RunEvent) => {
      if (e.type === 'ExecutionStarted') execStart = e.timestamp;
      if (/^Execution(Succeeded|Failed|Aborted|TimedOut|Timeout)$/.test(e.type)) execEnd = e.timestamp;
      if (!e.state) return;
      const key = `${e.index ?? ''}/${e.state.name}`;
      if (e.type === 'StateEntered') entered.set(key, e.timestamp);
      if (e.type === 'StateExited' || e.type === 'StateFailed') {
        exits.push({
          type: e.type,
          at: e.timestamp,
          state: e.state.name,
          index: e.index,
          output: JSON.stringify(e.state.output ?? null),
        });
        if (e.index === undefined)
          steps.push({ state: e.state.name, ms: e.timestamp - (entered.get(key) ?? e.timestamp) });
      }
    };
    const t0 = performance.now();
    const result = await sandbox.run('etcd-backup', onEvent);
    const workflowMs = performance.now() - t0;

    const commands: CommandFigures[] = sandbox.fleet.commands.map((r) => {
      const wallMs = (r.endedAt ?? r.startedAt) - r.startedAt;
      // the Task that waited on it: the first state to exit after the script ended whose output
      // carries the command id (later states carry it too, further down the state)
      const exit =
        r.endedAt === undefined
          ? undefined
          : exits.find((x) => x.at >= r.endedAt! && x.output.includes(r.commandId));
      return {
        document: r.documentName,
        instanceId: r.instanceId,
        status: r.invocation.status,
        wallMs,
        state: exit && (exit.index === undefined ? exit.state : `${exit.state} [${exit.index}]`),
        completionLatencyMs: exit && exit.at - r.endedAt!,
      };
    });
    const latencies = commands.flatMap((c) =>
      c.completionLatencyMs === undefined ? [] : [c.completionLatencyMs],
    );
    const snapRecord = sandbox.fleet.commands.find((c) => c.documentName === 'etcd-snapshot');
    const snapshotCommandMs =
      snapRecord?.endedAt === undefined ? undefined : snapRecord.endedAt - snapRecord.startedAt;
    const snap = (result.output as { snapshot?: Record<string, unknown> } | undefined)?.snapshot;
    const intervals = sandbox.fleet.commands.map(
      (c) => [c.startedAt, c.endedAt ?? c.startedAt] as [number, number],
    );
    const commandsSumMs = intervals.reduce((n, [s, e]) => n + (e - s), 0);
    const commandsWallMs = unionMs(intervals);
    const overheadMs = workflowMs - commandsWallMs;
    const ratio = snapshotCommandMs ? overheadMs / snapshotCommandMs : undefined;
    const executionMs = execStart !== undefined && execEnd !== undefined ? execEnd - execStart : undefined;
    const inExecutionMs = executionMs === undefined ? undefined : executionMs - commandsWallMs;

    const figures: BackupFigures = {
      size: { ...size, approxDataMB },
      sandboxStartMs: round(sandboxStartMs, 0),
      seedMs: seeding.ms === undefined ? undefined : round(seeding.ms, 0),
      status: result.status,
      outcome: sandbox.notifier.messages.at(-1)?.attributes.outcome,
      error: result.error,
      snapshot: snap && {
        sizeBytes: Number(snap.size),
        sizeMB: round(Number(snap.size) / 1e6, 1),
        totalKeys: snap.totalKeys === undefined ? undefined : Number(snap.totalKeys),
        revision: Number(snap.revision),
      },
      workflowMs: round(workflowMs, 0),
      executionMs,
      node: {
        snapshotScriptMs: snap?.durationMs === undefined ? undefined : Number(snap.durationMs),
        snapshotCommandMs,
        commandsSumMs,
        commandsWallMs,
      },
      overhead: {
        definition:
          'workflowMs − commandsWallMs, where commandsWallMs is the wall time during which at least one node command ran ' +
          '(union of every fleet command [startedAt, endedAt]; the three etcd-status commands overlap, so summing them would ' +
          'count the same seconds three times); ratio = overhead / snapshotCommandMs (the etcd-snapshot command wall time). ' +
          'inExecutionMs: the same from the ExecutionStarted event, without the sandbox runner setup before it',
        ms: round(overheadMs, 0),
        ratio: ratio === undefined ? undefined : round(ratio),
        msIfCommandsSummed: round(workflowMs - commandsSumMs, 0),
        inExecutionMs,
        inExecutionRatio:
          inExecutionMs === undefined || !snapshotCommandMs
            ? undefined
            : round(inExecutionMs / snapshotCommandMs),
        target: OVERHEAD_TARGET,
        targetApplies: approxDataMB >= TARGET_APPLIES_FROM_MB,
        meetsTarget: ratio === undefined ? undefined : ratio <= OVERHEAD_TARGET,
      },
      completionLatency: {
        medianMs: median(latencies),
        maxMs: latencies.length ? Math.max(...latencies) : undefined,
        unmatched: commands.length - latencies.length,
      },
      commands,
      steps,
    };
    log(
      `backup[${size.name}]: ${figures.status} in ${(workflowMs / 1000).toFixed(1)} s; snapshot command ${snapshotCommandMs} ms; overhead ${figures.overhead.ms} ms`,
    );
    return figures;
  } finally {
    await sandbox.stop();
    active.delete(sandbox);
  }
}

export async function runBackupBench(
  sizes: BackupSize[],
  log: (l: string) => void = () => undefined,
): Promise<{ target: string; sizes: BackupFigures[] }> {
  const out: BackupFigures[] = [];
  for (const size of sizes) out.push(await runBackupSize(size, log));
  return {
    target: `orchestration overhead <= ${OVERHEAD_TARGET * 100}% of the node-side snapshot time at ~200 MB (the "large" size)`,
    sizes: out,
  };
}
