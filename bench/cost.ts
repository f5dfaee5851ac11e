/**
 * The cost model of one cluster for a month: Step Functions transitions (counted by running
 * the real ASL of a backup and a verification in the local runner, not estimated), Lambda
 * requests and GB-seconds, SSM, S3 requests, log ingestion, custom metrics and alarms. Prices
 * are us-east-1 list prices (2026), no free tier; every assumption is in the output.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pickMember } from '../functions/shared/domain/member-selection';
import {
  defaultHealthAlarms,
  HEALTH_SCHEDULE_DEFAULT,
  probeIntervalMinutes,
} from '../functions/shared/domain/health';
import { METRICS } from '../functions/shared/domain/metrics';
import { runWorkflow, type Fake, type Json } from '../sandbox/asl-runner';
import { InMemoryLock } from '../test/asl/fakes';

export const PRICES = {
  /** Standard workflows, per state transition */
  transition: 0.025 / 1000,
  lambdaRequest: 0.2 / 1e6,
  /** arm64, per GB-second */
  lambdaGbSecond: 0.0000133334,
  /** per custom metric (name + dimension set) per month, first 10,000 */
  metric: 0.3,
  /** per standard-resolution alarm metric per month */
  alarm: 0.1,
  /** Run Command on EC2 managed instances has no charge; GetCommandInvocation neither */
  ssmCommand: 0,
  s3List: 0.005 / 1000,
  s3Get: 0.0004 / 1000,
  s3Put: 0.005 / 1000,
  /** CloudWatch Logs ingestion per GB */
  logsGb: 0.5,
} as const;

const MONTH_MINUTES = 30 * 24 * 60;
/** the 13 metric/dimension sets backups and verification published per cluster before */
const METRICS_BEFORE = 13;

interface Line {
  item: string;
  perMonth: number;
  usd: number;
  assumption: string;
}

/** happy-path state transitions of a workflow, from the real ASL in the local runner */
async function transitions(workflow: string, fakes: Record<string, Fake>): Promise<number> {
  const run = await runWorkflow(workflow, { cluster: 'prod-eu' }, { fakes });
  if (run.status !== 'SUCCEEDED') throw new Error(`${workflow}: ${run.status} ${JSON.stringify(run.error)}`);
  // every state entered is one transition, Map iterations' states included, plus the start
  return run.states.length + run.iterationStates.length + 1;
}

export async function runCostBench(log: (line: string) => void) {
  const fixture = JSON.parse(
    readFileSync(join(__dirname, '../test/asl/fixtures/etcd-backup.json'), 'utf8'),
  ) as {
    instances: Json[];
    statuses: Record<string, Json>;
    snapshot: Record<string, Json>;
    upload: Json;
    pruned: Json;
  };
  const obj = (j: Json) => j as Record<string, Json>;
  log('cost: counting the transitions of a backup in the real ASL…');
  const lock = new InMemoryLock(() => new Date());
  const backupTransitions = await transitions('etcd-backup', {
    'acquire-lock': lock.acquire,
    'release-lock': lock.release,
    'find-control-plane': () => ({ instances: fixture.instances }),
    'send-command': (p) =>
      obj(p)['command'] === 'etcd-status'
        ? fixture.statuses[String(obj(p)['instanceId'])]!
        : { ...fixture.snapshot },
    'pick-member': (p) => pickMember(obj(p)['statuses'] as never) as unknown as Json,
    'verify-upload': () => fixture.upload,
    'prune-snapshots': () => fixture.pruned,
    'publish-outcome': () => ({ published: true }),
  });
  const backupLambdas = 12; // lock, find, 3 status sends + 3 completions, pick, snapshot send + completion… (order of)
  const lines: Line[] = [];
  const add = (item: string, perMonth: number, unit: number, assumption: string) =>
    lines.push({ item, perMonth, usd: Math.round(perMonth * unit * 10_000) / 10_000, assumption });

  // --- probe
  const interval = probeIntervalMinutes(HEALTH_SCHEDULE_DEFAULT);
  const probes = MONTH_MINUTES / interval;
  add(
    'probe: Step Functions transitions',
    0,
    PRICES.transition,
    'none: the probe is one scheduled Lambda, not a workflow',
  );
  add('probe: Lambda requests', probes, PRICES.lambdaRequest, `one per ${interval} minutes`);
  add(
    'probe: Lambda GB-seconds',
    probes * 0.25 * 4,
    PRICES.lambdaGbSecond,
    '256 MB, 4 s (send, wait for the 2-3 s script, S3 list)',
  );
  add(
    'probe: SSM Run Command',
    probes,
    PRICES.ssmCommand,
    'one command on one control-plane node; no charge on EC2',
  );
  add(
    'probe: S3 LIST + GET',
    probes,
    PRICES.s3List + PRICES.s3Get,
    'one LIST of the cluster prefix, about one GET of a report',
  );
  // the days since each worker was patched ride on the probe's log line, ~25 bytes a worker
  // ("worker-name=12.5 "), not as a metric per node ($0.30 a node-month)
  const workers = 20;
  add(
    'probe: log ingestion (GB)',
    (probes * (2000 + 25 * workers)) / 1e9,
    PRICES.logsGb,
    `a 2 KB EMF and log line per probe, + ~25 B per worker for workerPatchDays (${workers} workers)`,
  );
  // --- backups, hourly
  const backups = MONTH_MINUTES / 60;
  add(
    'backup: Step Functions transitions',
    backups * backupTransitions,
    PRICES.transition,
    `${backupTransitions} per backup (real ASL, 3 members), hourly`,
  );
  add(
    'backup: Lambda requests',
    backups * backupLambdas,
    PRICES.lambdaRequest,
    `${backupLambdas} per backup`,
  );
  add(
    'backup: Lambda GB-seconds',
    backups * backupLambdas * 0.25 * 0.5,
    PRICES.lambdaGbSecond,
    '256 MB, 0.5 s each',
  );
  add(
    'backup: S3 requests',
    backups * 30,
    (PRICES.s3Put + PRICES.s3List + PRICES.s3Get) / 3,
    'about 30 requests per backup (upload parts, verify, prune)',
  );
  // --- metrics and alarms
  const metrics = Object.keys(METRICS).length;
  add(
    'custom metrics',
    metrics,
    PRICES.metric,
    `${metrics} per cluster (domain/metrics.ts), dimension {cluster} only`,
  );
  const alarms = defaultHealthAlarms(3600, 192, interval).length;
  add('alarms', alarms, PRICES.alarm, `${alarms} default alarms per cluster (one metric each)`);

  const sum = (filter: (l: Line) => boolean) =>
    Math.round(lines.filter(filter).reduce((s, l) => s + l.usd, 0) * 100) / 100;
  const backupsPlusProbes = sum((l) => l.item !== 'alarms');
  return {
    prices: PRICES,
    perClusterMonth: lines,
    totals: {
      probeUsd: sum((l) => l.item.startsWith('probe')),
      backupUsd: sum((l) => l.item.startsWith('backup')),
      metricsUsd: sum((l) => l.item === 'custom metrics'),
      alarmsUsd: sum((l) => l.item === 'alarms'),
      backupsPlusProbesUsd: backupsPlusProbes,
      withAlarmsUsd: sum(() => true),
      goalUsd: 3,
      meetsTarget: backupsPlusProbes <= 3,
    },
    before: {
      metrics: METRICS_BEFORE,
      metricsUsd: Math.round(METRICS_BEFORE * PRICES.metric * 100) / 100,
      note: 'Succeeded, Failed, Skipped, DurationSeconds per cluster and workflow (backup, verify), SnapshotBytes, SnapshotRevision, Verified, SnapshotAgeAtVerifySeconds, RestoreSeconds: now log fields, read by Logs Insights widgets',
    },
  };
}
