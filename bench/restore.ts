/**
 * Restore verification in the local sandbox, at one or more database sizes, against the bare
 * restore of the same snapshot: how long the restore-verify workflow and its node command take
 * next to `etcdctl snapshot restore` + start + healthy alone, and how much the verification adds.
 */
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { RunEvent } from '../sandbox/asl-runner';
import { restoreSnapshot, type TrackedProcess } from '../sandbox/etcd-cluster';
import { offlineEnvironment } from '../sandbox/main';
import type { Sandbox } from '../sandbox/sandbox';
import { median, round, timeSeeding, trackSandbox, untrackSandbox, type BackupSize } from './backup';

/** bare restores per size; the median is the baseline */
export const BARE_RUNS = 3;

export const RESTORE_DEFINITIONS = {
  workflowMs:
    'wall time around sandbox.run("restore-verify"): pick the snapshot, launch the scratch node, wait until it reaches ' +
    'SSM, the etcd-restore-verify command, record the verdict (tags, report, metrics), terminate, notify',
  executionMs:
    'the same between the ExecutionStarted and ExecutionSucceeded/Failed events (without the runner setup)',
  commandMs:
    'the etcd-restore-verify command wall time in the fleet (CommandRecord startedAt → endedAt): the whole script — ' +
    'download of snapshot + manifest with the AWS CLI, sha256, etcdctl snapshot status, restore, start, health, ' +
    'revision, key counts per /registry resource, stopping etcd (SIGTERM, waited for) and removing its work dir',
  nodeRestoreMs:
    'the script’s own restoreSeconds × 1000 (from the run output recorded.restoreSeconds): etcdctl snapshot restore + ' +
    'etcd start until `etcdctl endpoint health` answers — the RTO the workflow reports',
  bareMs:
    'sandbox/etcd-cluster.ts restoreSnapshot(file) on the same .db (downloaded from the sandbox S3 with the SDK beforehand, ' +
    'not timed): etcdctl snapshot restore + start one member + poll `endpoint health` every 100 ms until healthy; ' +
    `timed from the call until it returns, the member stopped right after (not timed); ${BARE_RUNS} runs, median`,
  ratios:
    'workflowOverBare = workflowMs / bare median; commandOverBare = commandMs / bare median; ' +
    'nodeRestoreOverBare = nodeRestoreMs / bare median (the same work measured inside the script: ~1 means the RTO ' +
    'the workflow reports is the bare restore time)',
  verificationOverhead:
    'what the verification adds beyond the bare restore: ms = commandMs − bare median (download, sha256, snapshot ' +
    'status, revision + key counts, process management: bash, etcdctl/aws CLI start-ups, polling, stopping etcd, cleanup); ' +
    'share = ms / commandMs. outsideRestoreMs = commandMs − nodeRestoreMs is the part of it the script does around the ' +
    'restore; restoreDeltaMs = nodeRestoreMs − bare median is the rest (the script polls every 200 ms with a fresh ' +
    'etcdctl and starts etcd with the default election timeout, restoreSnapshot with 100 ms and --election-timeout=500)',
  orchestration:
    'ms = workflowMs − commandMs: everything around the node command (Lambda handlers, scratch launch + SSM wait, ' +
    'completion event, recording, terminate, notify); share = ms / workflowMs',
  downloadMs:
    'the SDK GetObject of the .db to a temp file for the bare runs (for scale: the script downloads it too)',
  loadAvg:
    '1-minute load average before the sandbox started and after the bare runs (2 cores: above ~2 means contention)',
} as const;

export interface RestoreFigures {
  size: BackupSize & { approxDataMB: number };
  sandboxStartMs: number;
  seedMs?: number;
  backup: { status: string; workflowMs: number; key?: string };
  snapshot?: { key: string; sizeBytes: number; sizeMB: number; revision?: number };
  status: string;
  outcome?: string;
  verified?: boolean;
  failedCheck?: string;
  error?: { Error: string; Cause: string };
  workflowMs: number;
  executionMs?: number;
  commandMs?: number;
  nodeRestoreMs?: number;
  /** the script's restore and etcd-healthy check details, as it wrote them */
  nodeChecks?: { name: string; ok: boolean | null; detail: string }[];
  bare: { runsMs: number[]; medianMs?: number; minMs?: number; maxMs?: number; stopMs: number[] };
  downloadMs?: number;
  ratios: { workflowOverBare?: number; commandOverBare?: number; nodeRestoreOverBare?: number };
  verificationOverhead: {
    ms?: number;
    share?: number;
    outsideRestoreMs?: number;
    restoreDeltaMs?: number;
  };
  orchestration: { ms?: number; share?: number };
  steps: { state: string; ms: number }[];
  commands: { document: string; instanceId: string; status: string; wallMs: number }[];
  loadAvg: { atStart: number; atEnd: number };
}

/** bare restores still running (or starting): main.ts stops them on SIGINT/SIGTERM */
const restoring = new Set<TrackedProcess>();
const tempDirs = new Set<string>();

export async function stopActiveRestores(): Promise<void> {
  await Promise.allSettled(
    [...restoring].map(async (p) => {
      if (p.child.exitCode === null && p.child.signalCode === null) {
        try {
          process.kill(p.pid, 'SIGKILL');
        } catch {
          // already gone
        }
      }
      await p.exited;
    }),
  );
  restoring.clear();
  await Promise.allSettled([...tempDirs].map((d) => rm(d, { recursive: true, force: true })));
  tempDirs.clear();
}

const ms = (n: number | undefined) => (n === undefined ? undefined : round(n, 0));
const ratio = (a: number | undefined, b: number | undefined) =>
  a === undefined || !b ? undefined : round(a / b);

async function download(sandbox: Sandbox, key: string, file: string): Promise<number> {
  const t = performance.now();
  const client = sandbox.s3.client();
  const res = await client.send(new GetObjectCommand({ Bucket: sandbox.endpoints().bucket, Key: key }));
  await pipeline(res.Body as Readable, createWriteStream(file));
  return performance.now() - t;
}

/** restoreSnapshot(file) BARE_RUNS times, each into a fresh dir, stopped right after */
async function bareRestores(
  file: string,
  dir: string,
  log: (l: string) => void,
  name: string,
  revision?: number,
): Promise<{ runsMs: number[]; stopMs: number[] }> {
  const runsMs: number[] = [];
  const stopMs: number[] = [];
  for (let i = 0; i < BARE_RUNS; i++) {
    const runDir = join(dir, `bare-${i}`);
    let proc: TrackedProcess | undefined;
    const t = performance.now();
    const member = await restoreSnapshot(file, runDir, (p) => {
      proc = p;
      restoring.add(p);
    });
    const elapsed = performance.now() - t;
    try {
      // not timed: the restored member must be the snapshot, or the baseline means nothing
      if (revision !== undefined) {
        const got = await member.client.revision();
        if (got !== revision)
          throw new Error(`bare restore ${i}: revision ${got}, the snapshot is at ${revision}`);
      }
    } finally {
      const s = performance.now();
      await member.stop();
      stopMs.push(round(performance.now() - s, 0));
      if (proc) restoring.delete(proc);
      await rm(runDir, { recursive: true, force: true });
    }
    runsMs.push(round(elapsed, 0));
    log(`restore[${name}]: bare restore ${i + 1}/${BARE_RUNS}: ${(elapsed / 1000).toFixed(2)} s`);
  }
  return { runsMs, stopMs };
}

export async function runRestoreSize(size: BackupSize, log: (l: string) => void): Promise<RestoreFigures> {
  offlineEnvironment();
  // after the environment: the handlers read it when they load (as sandbox/main.ts does)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Sandbox: SandboxClass } = require('../sandbox/sandbox') as typeof import('../sandbox/sandbox');

  const loadAtStart = loadavg()[0]!;
  const approxDataMB = round((size.keys * size.valueBytes) / 1e6, 1);
  log(`restore[${size.name}]: starting the sandbox, seeding ${size.keys} keys × ${size.valueBytes} B…`);
  const seeding = timeSeeding();
  let sandbox: Sandbox;
  const startT = performance.now();
  try {
    sandbox = await SandboxClass.start({ keys: size.keys, valueBytes: size.valueBytes });
    trackSandbox(sandbox);
  } finally {
    seeding.restore();
  }
  const sandboxStartMs = performance.now() - startT;
  const work = await mkdtemp(join(tmpdir(), 'caretaker-bench-restore-'));
  tempDirs.add(work);

  try {
    log(`restore[${size.name}]: up in ${(sandboxStartMs / 1000).toFixed(1)} s; running etcd-backup`);
    const b0 = performance.now();
    const backup = await sandbox.run('etcd-backup');
    const backupMs = performance.now() - b0;
    const snap = (backup.output as { snapshot?: Record<string, unknown> } | undefined)?.snapshot;
    if (backup.status !== 'SUCCEEDED' || !snap) {
      throw new Error(`etcd-backup did not succeed (${backup.status}): ${JSON.stringify(backup.error)}`);
    }
    const key = String(snap.key);
    const backupCommands = sandbox.fleet.commands.length;

    log(`restore[${size.name}]: backup ${(backupMs / 1000).toFixed(1)} s (${key}); running restore-verify`);
    const entered = new Map<string, number>();
    const steps: { state: string; ms: number }[] = [];
    let execStart: number | undefined;
    let execEnd: number | undefined;
    const onEvent = (e: RunEvent) => {
      if (e.type === 'ExecutionStarted') execStart = e.timestamp;
      if (/^Execution(Succeeded|Failed|Aborted|TimedOut|Timeout)$/.test(e.type)) execEnd = e.timestamp;
      if (!e.state || e.index !== undefined) return;
      if (e.type === 'StateEntered') entered.set(e.state.name, e.timestamp);
      // a failed Task reports StateFailed and then StateExited: count it once
      const since = entered.get(e.state.name);
      if ((e.type === 'StateExited' || e.type === 'StateFailed') && since !== undefined) {
        steps.push({ state: e.state.name, ms: e.timestamp - since });
        entered.delete(e.state.name);
      }
    };
    const t0 = performance.now();
    const result = await sandbox.run('restore-verify', onEvent);
    const workflowMs = performance.now() - t0;

    const verifyRecords = sandbox.fleet.commands.slice(backupCommands);
    const commands = verifyRecords.map((r) => ({
      document: r.documentName,
      instanceId: r.instanceId,
      status: r.invocation.status,
      wallMs: (r.endedAt ?? r.startedAt) - r.startedAt,
    }));
    const verifyRecord = verifyRecords.find((r) => r.documentName === 'etcd-restore-verify');
    const commandMs =
      verifyRecord?.endedAt === undefined ? undefined : verifyRecord.endedAt - verifyRecord.startedAt;
    const out = (result.output ?? {}) as {
      recorded?: { verified?: boolean; failedCheck?: string; restoreSeconds?: number | null };
      verification?: { checks?: { name: string; ok: boolean | null; detail: string }[] };
    };
    const restoreSeconds = out.recorded?.restoreSeconds;
    const nodeRestoreMs = typeof restoreSeconds === 'number' ? restoreSeconds * 1000 : undefined;
    const nodeChecks = out.verification?.checks?.filter(
      (c) => c.name === 'restore' || c.name === 'etcd-healthy',
    );

    log(
      `restore[${size.name}]: ${result.status} in ${(workflowMs / 1000).toFixed(1)} s; command ${commandMs} ms; node restore ${nodeRestoreMs} ms; downloading the .db for the bare restores`,
    );
    const file = join(work, 'snapshot.db');
    const downloadMs = await download(sandbox, key, file);
    const sizeBytes = (await stat(file)).size;
    const revision = snap.revision === undefined ? undefined : Number(snap.revision);
    const bare = await bareRestores(file, work, log, size.name, revision);
    const bareMedian = median(bare.runsMs);
    const loadAtEnd = loadavg()[0]!;

    const overheadMs =
      commandMs === undefined || bareMedian === undefined ? undefined : commandMs - bareMedian;
    const orchestrationMs = commandMs === undefined ? undefined : workflowMs - commandMs;
    const figures: RestoreFigures = {
      size: { ...size, approxDataMB },
      sandboxStartMs: round(sandboxStartMs, 0),
      seedMs: ms(seeding.ms),
      backup: { status: backup.status, workflowMs: round(backupMs, 0), key },
      snapshot: { key, sizeBytes, sizeMB: round(sizeBytes / 1e6, 1), revision },
      status: result.status,
      outcome: sandbox.notifier.messages.at(-1)?.attributes.outcome,
      verified: out.recorded?.verified,
      failedCheck: out.recorded?.failedCheck || undefined,
      error: result.error,
      workflowMs: round(workflowMs, 0),
      executionMs: execStart !== undefined && execEnd !== undefined ? execEnd - execStart : undefined,
      commandMs,
      nodeRestoreMs: ms(nodeRestoreMs),
      nodeChecks,
      bare: {
        ...bare,
        medianMs: bareMedian,
        minMs: Math.min(...bare.runsMs),
        maxMs: Math.max(...bare.runsMs),
      },
      downloadMs: round(downloadMs, 0),
      ratios: {
        workflowOverBare: ratio(workflowMs, bareMedian),
        commandOverBare: ratio(commandMs, bareMedian),
        nodeRestoreOverBare: ratio(nodeRestoreMs, bareMedian),
      },
      verificationOverhead: {
        ms: ms(overheadMs),
        share: ratio(overheadMs, commandMs),
        outsideRestoreMs:
          commandMs === undefined || nodeRestoreMs === undefined ? undefined : ms(commandMs - nodeRestoreMs),
        restoreDeltaMs:
          nodeRestoreMs === undefined || bareMedian === undefined
            ? undefined
            : ms(nodeRestoreMs - bareMedian),
      },
      orchestration: { ms: ms(orchestrationMs), share: ratio(orchestrationMs, workflowMs) },
      steps,
      commands,
      loadAvg: { atStart: round(loadAtStart, 2), atEnd: round(loadAtEnd, 2) },
    };
    log(
      `restore[${size.name}]: bare median ${bareMedian} ms; workflow/bare ${figures.ratios.workflowOverBare}, command/bare ${figures.ratios.commandOverBare}; verification adds ${figures.verificationOverhead.ms} ms (${figures.verificationOverhead.share})`,
    );
    return figures;
  } finally {
    await stopActiveRestores();
    await sandbox.stop();
    untrackSandbox(sandbox);
  }
}

export async function runRestoreBench(
  sizes: BackupSize[],
  log: (l: string) => void = () => undefined,
): Promise<{ compares: string; definitions: typeof RESTORE_DEFINITIONS; sizes: RestoreFigures[] }> {
  const out: RestoreFigures[] = [];
  for (const size of sizes) out.push(await runRestoreSize(size, log));
  return {
    compares:
      'restore-verify (workflow, node command, the node’s own restore + healthy) against the bare etcdctl snapshot ' +
      'restore + start + healthy of the same snapshot, at ~200 MB (the "large" size)',
    definitions: RESTORE_DEFINITIONS,
    sizes: out,
  };
}
