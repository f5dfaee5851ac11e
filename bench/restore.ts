/**
 * Restore verification in the local sandbox, per etcd version and database size, against the bare
 * restore of the same snapshot: how long the restore-verify workflow and its node command take
 * next to the same `etcdutl snapshot restore` (etcdctl on 3.4) + start + healthy alone, and where
 * the verification spends the rest.
 */
import { execFile, spawn } from 'node:child_process';
import { closeSync, createWriteStream, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { connect } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { GetObjectCommand } from '@aws-sdk/client-s3';
import type { RunEvent } from '../sandbox/asl-runner';
import { Etcdctl, freePorts, restoreSnapshot, type TrackedProcess } from '../sandbox/etcd-cluster';
import { etcdBinaries, type EtcdBinaries, type EtcdVersion } from '../sandbox/etcd-versions';
import { offlineEnvironment } from '../sandbox/main';
import type { Sandbox } from '../sandbox/sandbox';
import { median, round, timeSeeding, trackSandbox, untrackSandbox, type BackupSize } from './backup';

const execFileAsync = promisify(execFile);

/** bare restores per size and kind; the median is the baseline */
export const BARE_RUNS = 3;
/** what etcd-restore-verify.sh passes to `etcdutl snapshot restore` from 3.5 on */
const BUMP = 1_000_000_000;

export const RESTORE_DEFINITIONS = {
  workflowMs:
    'wall time around sandbox.run("restore-verify"): pick the snapshot, launch the scratch node, wait until it reaches ' +
    'SSM, the etcd-restore-verify command, record the verdict (tags, report, metrics), terminate, notify',
  executionMs:
    'the same between the ExecutionStarted and ExecutionSucceeded/Failed events (without the runner setup)',
  commandMs:
    'the etcd-restore-verify command wall time in the fleet (CommandRecord startedAt → endedAt): the whole script — ' +
    'one AWS CLI stream of the snapshot through tee + sha256sum with the manifest fetched beside it, the manifest ' +
    'read and checked, the version check, snapshot status beside the restore, start, health, one read-only txn ' +
    'of counts, SIGKILL of etcd and removal of its work dir',
  nodeRestoreMs:
    'the script’s own restoreSeconds × 1000 (from the run output recorded.restoreSeconds): snapshot restore + ' +
    'etcd start until `etcdctl endpoint health` answers — the RTO the workflow reports',
  nodeChecks: 'every check of the verification report with its ms (see the check list in the document)',
  bareMs:
    'the same restore and start the script does, without anything around it, on the same .db (downloaded from ' +
    'the sandbox S3 with the SDK beforehand, not timed): `etcdutl snapshot restore --bump-revision=1000000000 ' +
    '--mark-compacted` (3.4: `etcdctl snapshot restore`), then etcd with the script’s flags (single member, ' +
    '--heartbeat-interval=10 --election-timeout=100), waiting for its client port (every 20 ms) and then ' +
    '`etcdctl endpoint health` (every 50 ms); timed from the restore until healthy, the member killed right after ' +
    `(not timed); ${BARE_RUNS} runs, median`,
  bareHelperMs:
    'for comparison with the earlier figures: sandbox/etcd-cluster.ts restoreSnapshot(file) with the version’s ' +
    'binaries (no bump, --heartbeat-interval=50 --election-timeout=500, `endpoint health` every 100 ms with a 1 s ' +
    `dial timeout); ${BARE_RUNS} runs, median`,
  ratios:
    'workflowOverBare = workflowMs / bare median (the figure the goal is about: ≤ 1.5 on 3.6 at the large size); ' +
    'commandOverBare = commandMs / bare median; nodeRestoreOverBare = nodeRestoreMs / bare median; ' +
    'workflowOverBareHelper = workflowMs / bareHelper median',
  verificationOverhead:
    'what the verification adds beyond the bare restore: ms = commandMs − bare median; share = ms / commandMs',
  orchestration:
    'ms = workflowMs − commandMs: everything around the node command (Lambda handlers, scratch launch + SSM wait, ' +
    'completion event, recording, terminate, notify); share = ms / workflowMs',
  downloadMs:
    'the SDK GetObject of the .db to a temp file for the bare runs (for scale: the script downloads it too)',
  loadAvg:
    '1-minute load average before the sandbox started and after the bare runs (2 cores: above ~2 means contention)',
} as const;

export interface RestoreFigures {
  etcdVersion: EtcdVersion;
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
  /** the verification report's checks, as the script wrote them */
  nodeChecks?: { name: string; ok: boolean | null; ms?: number; detail: string }[];
  bare: BareFigures;
  bareHelper: BareFigures;
  downloadMs?: number;
  ratios: {
    workflowOverBare?: number;
    commandOverBare?: number;
    nodeRestoreOverBare?: number;
    workflowOverBareHelper?: number;
  };
  verificationOverhead: { ms?: number; share?: number };
  orchestration: { ms?: number; share?: number };
  steps: { state: string; ms: number }[];
  commands: { document: string; instanceId: string; status: string; wallMs: number }[];
  loadAvg: { atStart: number; atEnd: number };
}

interface BareFigures {
  runsMs: number[];
  medianMs?: number;
  minMs?: number;
  maxMs?: number;
}

/** bare restored members still running (or starting): main.ts stops them on SIGINT/SIGTERM */
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
  a === undefined || !b ? undefined : round(a / b, 2);
const sleep = (msec: number) => new Promise((resolve) => setTimeout(resolve, msec));

async function download(sandbox: Sandbox, key: string, file: string): Promise<number> {
  const t = performance.now();
  const client = sandbox.s3.client();
  const res = await client.send(new GetObjectCommand({ Bucket: sandbox.endpoints().bucket, Key: key }));
  await pipeline(res.Body as Readable, createWriteStream(file));
  return performance.now() - t;
}

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function spawnTracked(bin: string, args: string[], logFile: string): TrackedProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${bin} (see ${logFile})`);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  const proc = { child, pid: child.pid, exited, logFile };
  restoring.add(proc);
  return proc;
}

async function kill(proc: TrackedProcess): Promise<void> {
  try {
    process.kill(proc.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  await proc.exited;
  restoring.delete(proc);
}

/**
 * The restore and start etcd-restore-verify.sh does, and nothing else: restore (with the bump on
 * 3.5+), start one member with the script's flags, wait until it is healthy. Returns the time
 * from the restore until healthy, and the revision it then serves (not timed).
 */
async function bareRestore(
  file: string,
  dir: string,
  b: EtcdBinaries,
): Promise<{ ms: number; revision: number }> {
  await mkdir(dir, { recursive: true });
  const [clientPort, peerPort] = (await freePorts(2)) as [number, number];
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const dataDir = join(dir, 'data');
  const name = 'bare';
  const t = performance.now();
  await execFileAsync(b.etcdutl ?? b.etcdctl, [
    'snapshot',
    'restore',
    file,
    `--name=${name}`,
    `--data-dir=${dataDir}`,
    `--initial-cluster=${name}=${peerUrl}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    '--initial-cluster-token=caretaker-bench',
    ...(b.etcdutl ? [`--bump-revision=${BUMP}`, '--mark-compacted'] : []),
  ]);
  const proc = spawnTracked(
    b.etcd,
    [
      `--name=${name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=${name}=${peerUrl}`,
      '--quota-backend-bytes=8589934592',
      '--logger=zap',
      '--log-level=warn',
      '--heartbeat-interval=10',
      '--election-timeout=100',
    ],
    join(dir, 'etcd.log'),
  );
  try {
    const client = new Etcdctl([clientUrl], undefined, b.etcdctl);
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (proc.child.exitCode !== null) throw new Error(`bare etcd exited (see ${proc.logFile})`);
      if ((await portOpen(clientPort)) && (await client.isHealthy())) break;
      if (Date.now() > deadline) throw new Error(`bare etcd not healthy in 60 s (see ${proc.logFile})`);
      await sleep(20);
    }
    const elapsed = performance.now() - t;
    return { ms: elapsed, revision: await client.revision() };
  } finally {
    await kill(proc);
  }
}

/** `restore` BARE_RUNS times, each into a fresh dir; the member is gone when it returns */
async function bareRuns(
  label: string,
  dir: string,
  log: (l: string) => void,
  restore: (runDir: string) => Promise<number>,
): Promise<BareFigures> {
  const runsMs: number[] = [];
  for (let i = 0; i < BARE_RUNS; i++) {
    const runDir = join(dir, `${label}-${i}`);
    try {
      runsMs.push(round(await restore(runDir), 0));
    } finally {
      await rm(runDir, { recursive: true, force: true });
    }
    log(`  ${label} ${i + 1}/${BARE_RUNS}: ${(runsMs[i]! / 1000).toFixed(2)} s`);
  }
  return { runsMs, medianMs: median(runsMs), minMs: Math.min(...runsMs), maxMs: Math.max(...runsMs) };
}

export async function runRestoreSize(
  size: BackupSize,
  version: EtcdVersion,
  log: (l: string) => void,
): Promise<RestoreFigures> {
  offlineEnvironment();
  // after the environment: the handlers read it when they load (as sandbox/main.ts does)
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Sandbox: SandboxClass } = require('../sandbox/sandbox') as typeof import('../sandbox/sandbox');

  const tag = `restore[etcd ${version}, ${size.name}]`;
  const binaries = etcdBinaries(version);
  const loadAtStart = loadavg()[0]!;
  const approxDataMB = round((size.keys * size.valueBytes) / 1e6, 1);
  log(`${tag}: starting the sandbox, seeding ${size.keys} keys × ${size.valueBytes} B…`);
  const seeding = timeSeeding();
  let sandbox: Sandbox;
  const startT = performance.now();
  try {
    sandbox = await SandboxClass.start({
      keys: size.keys,
      valueBytes: size.valueBytes,
      etcdVersion: version,
    });
    trackSandbox(sandbox);
  } finally {
    seeding.restore();
  }
  const sandboxStartMs = performance.now() - startT;
  const work = await mkdtemp(join(tmpdir(), 'caretaker-bench-restore-'));
  tempDirs.add(work);

  try {
    log(`${tag}: up in ${(sandboxStartMs / 1000).toFixed(1)} s; running etcd-backup`);
    const b0 = performance.now();
    const backup = await sandbox.run('etcd-backup');
    const backupMs = performance.now() - b0;
    const snap = (backup.output as { snapshot?: Record<string, unknown> } | undefined)?.snapshot;
    if (backup.status !== 'SUCCEEDED' || !snap) {
      throw new Error(`etcd-backup did not succeed (${backup.status}): ${JSON.stringify(backup.error)}`);
    }
    const key = String(snap.key);
    const backupCommands = sandbox.fleet.commands.length;

    log(`${tag}: backup ${(backupMs / 1000).toFixed(1)} s (${key}); running restore-verify`);
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
      verification?: { checks?: { name: string; ok: boolean | null; ms?: number; detail: string }[] };
    };
    const restoreSeconds = out.recorded?.restoreSeconds;
    const nodeRestoreMs = typeof restoreSeconds === 'number' ? restoreSeconds * 1000 : undefined;

    log(
      `${tag}: ${result.status} (verified: ${out.recorded?.verified}) in ${(workflowMs / 1000).toFixed(1)} s; ` +
        `command ${commandMs} ms; node restore ${nodeRestoreMs} ms; downloading the .db for the bare restores`,
    );
    const file = join(work, 'snapshot.db');
    const downloadMs = await download(sandbox, key, file);
    const sizeBytes = (await stat(file)).size;
    const revision = snap.revision === undefined ? undefined : Number(snap.revision);
    const wantRevision = revision === undefined ? undefined : revision + (binaries.etcdutl ? BUMP : 0);
    const bare = await bareRuns('bare', work, log, async (runDir) => {
      const r = await bareRestore(file, runDir, binaries);
      // the restored member must be the snapshot, or the baseline means nothing
      if (wantRevision !== undefined && r.revision !== wantRevision) {
        throw new Error(`bare restore: revision ${r.revision}, expected ${wantRevision}`);
      }
      return r.ms;
    });
    const bareHelper = await bareRuns('bare-helper', work, log, async (runDir) => {
      let proc: TrackedProcess | undefined;
      const t = performance.now();
      const member = await restoreSnapshot(
        file,
        runDir,
        (p) => {
          proc = p;
          restoring.add(p);
        },
        binaries,
      );
      const elapsed = performance.now() - t;
      await member.stop();
      if (proc) restoring.delete(proc);
      return elapsed;
    });
    const loadAtEnd = loadavg()[0]!;

    const overheadMs =
      commandMs === undefined || bare.medianMs === undefined ? undefined : commandMs - bare.medianMs;
    const orchestrationMs = commandMs === undefined ? undefined : workflowMs - commandMs;
    const figures: RestoreFigures = {
      etcdVersion: version,
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
      nodeChecks: out.verification?.checks,
      bare,
      bareHelper,
      downloadMs: round(downloadMs, 0),
      ratios: {
        workflowOverBare: ratio(workflowMs, bare.medianMs),
        commandOverBare: ratio(commandMs, bare.medianMs),
        nodeRestoreOverBare: ratio(nodeRestoreMs, bare.medianMs),
        workflowOverBareHelper: ratio(workflowMs, bareHelper.medianMs),
      },
      verificationOverhead: { ms: ms(overheadMs), share: ratio(overheadMs, commandMs) },
      orchestration: { ms: ms(orchestrationMs), share: ratio(orchestrationMs, workflowMs) },
      steps,
      commands,
      loadAvg: { atStart: round(loadAtStart, 2), atEnd: round(loadAtEnd, 2) },
    };
    log(
      `${tag}: bare median ${bare.medianMs} ms (helper ${bareHelper.medianMs} ms); workflow/bare ` +
        `${figures.ratios.workflowOverBare}, command/bare ${figures.ratios.commandOverBare}`,
    );
    return figures;
  } finally {
    await stopActiveRestores();
    await sandbox.stop();
    untrackSandbox(sandbox);
  }
}

/** one line per size: the workflow/bare ratio of every version, side by side */
export function sideBySide(runs: RestoreFigures[]): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const r of runs) {
    out[r.size.name] ??= { snapshotMB: r.snapshot?.sizeMB };
    out[r.size.name]![r.etcdVersion] = {
      verified: r.verified,
      workflowOverBare: r.ratios.workflowOverBare,
      workflowMs: r.workflowMs,
      commandMs: r.commandMs,
      bareMs: r.bare.medianMs,
    };
  }
  return out;
}

export async function runRestoreBench(
  sizes: BackupSize[],
  versions: EtcdVersion[],
  log: (l: string) => void = () => undefined,
): Promise<{
  compares: string;
  definitions: typeof RESTORE_DEFINITIONS;
  sideBySide: Record<string, Record<string, unknown>>;
  runs: RestoreFigures[];
}> {
  const runs: RestoreFigures[] = [];
  // every version at one size before the next size: the large one last, once
  for (const size of sizes) {
    for (const version of versions) runs.push(await runRestoreSize(size, version, log));
  }
  const table = sideBySide(runs);
  log('restore: workflow / bare, side by side');
  log(`  ${'size'.padEnd(8)}${versions.map((v) => `etcd ${v}`.padStart(12)).join('')}`);
  for (const [name, row] of Object.entries(table)) {
    const cells = versions.map((v) => {
      const cell = row[v] as { workflowOverBare?: number } | undefined;
      return String(cell?.workflowOverBare ?? '—').padStart(12);
    });
    log(`  ${name.padEnd(8)}${cells.join('')}`);
  }
  return {
    compares:
      'restore-verify (workflow, node command, the node’s own restore + healthy) against the bare snapshot restore + ' +
      'start + healthy of the same snapshot with the same tool and flags, per etcd version, at each size',
    definitions: RESTORE_DEFINITIONS,
    sideBySide: table,
    runs,
  };
}
