/**
 * The health probe, the pure part: its config block (`health` in a cluster), the default alarm
 * on each probe metric, and how one probe result becomes metrics and log fields.
 */
import * as z from '../zod';
import type { ProbeResult } from './commands/health-probe';
import { HEALTH_METRICS, type HealthMetricName } from './metrics';
import type { MetricUnit } from './metrics';

export const HEALTH_SCHEDULE_DEFAULT = 'rate(5 minutes)';

/** one default alarm: fires when the metric is at or above `threshold` for `periods` probe periods */
export interface HealthAlarm {
  metric: HealthMetricName;
  threshold: number;
  /** consecutive probe periods (of the probe's interval) before it fires */
  periods: number;
  /** the route that acts on it (remediation), if any */
  route?: string;
  /** no data means the probe saw nothing: breaching for the etcd ones */
  missingBreaches: boolean;
  what: string;
}

export interface HealthSettings {
  enabled: boolean;
  schedule: string;
  alarms: HealthAlarm[];
}

const alarmOverride = z
  .union([
    z.literal(false),
    z
      .object({
        threshold: z.number().min(0).max(1e12).optional(),
        periods: z.number().int().min(1).max(288).optional(),
      })
      .strict(),
  ])
  .optional();

/** `health` in a cluster of caretaker.config.json */
export const healthInput = z
  .object({
    enabled: z.boolean().optional(),
    /** rate(N minutes) only: the alarms count periods of it */
    schedule: z
      .string()
      .regex(/^rate\(([1-9]\d?) minutes?\)$/, 'must be rate(N minutes), N from 1 to 99')
      .optional(),
    /** per metric: false switches the alarm off; threshold and periods override the defaults */
    alarms: z
      .object(
        Object.fromEntries(Object.keys(HEALTH_METRICS).map((k) => [k, alarmOverride])) as Record<
          HealthMetricName,
          typeof alarmOverride
        >,
      )
      .strict()
      .optional(),
  })
  .strict();

export function probeIntervalMinutes(schedule: string): number {
  return Number(/^rate\((\d+) minutes?\)$/.exec(schedule)?.[1] ?? 5);
}

/**
 * The default alarms. Thresholds follow what the runbooks need: the DB alarm before etcd's own
 * NOSPACE (80% of the quota), one unhealthy member for two probes, leader changes as the raft
 * term's growth, NotReady nodes for 15 minutes (a reboot takes a few), a backup missed twice.
 */
export function defaultHealthAlarms(
  backupIntervalSeconds: number,
  verifyAfterHours: number,
  intervalMinutes: number,
): HealthAlarm[] {
  const periodsFor = (minutes: number) => Math.max(1, Math.ceil(minutes / intervalMinutes));
  return [
    {
      metric: 'EtcdDbUsedPercent',
      threshold: 80,
      periods: 1,
      route: 'etcd-db-size',
      missingBreaches: false,
      what: 'etcd database above 80% of its quota',
    },
    {
      metric: 'EtcdMembersUnhealthy',
      threshold: 1,
      periods: periodsFor(10),
      route: 'etcd-member-unhealthy',
      missingBreaches: true,
      what: 'an etcd member is unhealthy (or the probe sees nothing)',
    },
    {
      metric: 'EtcdRaftTerm',
      threshold: 3,
      periods: 1,
      missingBreaches: false,
      what: 'etcd changed leader 3 or more times in an hour',
    },
    {
      metric: 'EtcdAlarmsRaised',
      threshold: 1,
      periods: 1,
      missingBreaches: false,
      what: 'an etcd alarm (NOSPACE, CORRUPT) is raised',
    },
    {
      metric: 'ApiServersNotReady',
      threshold: 1,
      periods: periodsFor(10),
      missingBreaches: false,
      what: 'a kube-apiserver does not answer /readyz',
    },
    {
      metric: 'NodesNotReady',
      threshold: 1,
      periods: periodsFor(15),
      route: 'node-notready',
      missingBreaches: false,
      what: 'a Node has been NotReady for 15 minutes',
    },
    {
      metric: 'SnapshotAgeSeconds',
      threshold: 2 * backupIntervalSeconds,
      periods: 1,
      route: 'stale-backup',
      missingBreaches: true,
      what: 'no etcd snapshot within twice the backup interval',
    },
    {
      metric: 'VerifiedSnapshotAgeSeconds',
      threshold: verifyAfterHours * 3600,
      periods: 1,
      missingBreaches: true,
      what: 'no snapshot verified by a restore within restoreVerify.alarmAfterHours',
    },
  ];
}

/** the block with every default filled in; `problems` gets one line per bad field */
export function resolveHealth(
  block: z.output<typeof healthInput> | undefined,
  ctx: {
    kind: string;
    backupIntervalSeconds: number;
    verifyAfterHours: number;
    verifies: boolean;
    /** false when etcd-manager takes the backups (kops): Caretaker's bucket holds none to age */
    snapshotsByCaretaker?: boolean;
  },
): HealthSettings {
  const enabled = block?.enabled ?? ctx.kind !== 'eks';
  const schedule = block?.schedule ?? HEALTH_SCHEDULE_DEFAULT;
  const alarms = defaultHealthAlarms(
    ctx.backupIntervalSeconds,
    ctx.verifyAfterHours,
    probeIntervalMinutes(schedule),
  )
    .filter((a) => block?.alarms?.[a.metric] !== false)
    // without restore verification nothing is ever verified: that alarm would never clear
    .filter((a) => ctx.verifies || a.metric !== 'VerifiedSnapshotAgeSeconds')
    // etcd-manager's backups are in the kops state store and its own business; the verified age
    // (from Caretaker's verdicts on them) still grows when it stops taking them
    .filter((a) => ctx.snapshotsByCaretaker !== false || a.metric !== 'SnapshotAgeSeconds')
    .map((a) => {
      const o = block?.alarms?.[a.metric];
      return o ? { ...a, threshold: o.threshold ?? a.threshold, periods: o.periods ?? a.periods } : a;
    });
  return { enabled, schedule, alarms };
}

export interface SnapshotAges {
  newestKey?: string;
  newestAgeSeconds?: number;
  verifiedKey?: string;
  verifiedAgeSeconds?: number;
}

type Values = Record<string, { value: number; unit: MetricUnit }>;

/**
 * One probe → metric values (catalogued names) and log-only fields. A probe that could not run
 * publishes no etcd or Kubernetes value: the etcd alarms treat missing data as breaching.
 */
export function summarizeProbe(
  result: ProbeResult | undefined,
  quotaBytes: number,
  ages: SnapshotAges,
  now: Date = new Date(),
): { values: Values; fields: Record<string, unknown> } {
  const values: Values = {};
  const fields: Record<string, unknown> = {};
  const put = (name: HealthMetricName, value: number) => {
    values[name] = { value, unit: HEALTH_METRICS[name].unit };
  };
  if (result && result.etcd.membersTotal > 0) {
    const e = result.etcd;
    put('EtcdMembersUnhealthy', e.membersTotal - e.members.filter((m) => m.healthy).length);
    const largest = Math.max(0, ...e.members.map((m) => m.dbSize));
    put('EtcdDbUsedPercent', Math.round((1000 * largest) / quotaBytes) / 10);
    put('EtcdRaftTerm', Math.max(0, ...e.members.map((m) => m.raftTerm)));
    put('EtcdAlarmsRaised', e.alarms.length);
    // looked at, not alarmed on: log fields only
    values.EtcdDbSizeBytes = { value: largest, unit: 'Bytes' };
    values.EtcdDbSizeInUseBytes = {
      value: Math.max(0, ...e.members.map((m) => m.dbSizeInUse)),
      unit: 'Bytes',
    };
    fields.etcdAlarms = e.alarms;
    fields.etcdMembers = e.members.map((m) => ({
      endpoint: m.endpoint,
      healthy: m.healthy,
      leader: m.isLeader,
      dbSize: m.dbSize,
    }));
  } else {
    fields.probeError = result?.etcd.error || 'the probe did not run';
  }
  const k = result?.kubernetes;
  if (k && !k.error) {
    put('ApiServersNotReady', k.apiServers.filter((a) => !a.ready).length);
    put('NodesNotReady', k.notReady.length);
    values.NodesTotal = { value: k.nodesTotal, unit: 'Count' };
    fields.nodesNotReady = k.notReady;
    fields.nodesDiskPressure = k.diskPressure;
    fields.apiServersNotReady = k.apiServers.filter((a) => !a.ready).map((a) => a.node);
  } else if (k?.error) {
    // the API does not answer a control-plane node through its kubeconfig: at least one API
    // server is not serving from where the probe stands, whatever this node's own one says.
    // Nodes are unknown then, so NodesNotReady is not published (no value, not a false zero)
    const notReady = k.apiServers.filter((a) => !a.ready);
    put('ApiServersNotReady', Math.max(1, notReady.length));
    fields.kubernetesError = k.error;
    fields.apiServersNotReady = notReady.map((a) => a.node);
  }
  if (k && k.workers.length > 0) Object.assign(fields, workerPatchFields(k.workers, now));
  if (ages.newestAgeSeconds !== undefined) put('SnapshotAgeSeconds', ages.newestAgeSeconds);
  if (ages.verifiedAgeSeconds !== undefined) put('VerifiedSnapshotAgeSeconds', ages.verifiedAgeSeconds);
  if (ages.newestKey) fields.newestSnapshot = ages.newestKey;
  if (ages.verifiedKey) fields.newestVerifiedSnapshot = ages.verifiedKey;
  return { values, fields };
}

/** how many workers the probe's log line names one by one (the oldest first) */
export const WORKER_PATCH_LIST_MAX = 100;

/**
 * Days since each worker was patched, as log fields of the probe's line (a metric per node would
 * cost $0.30 a node-month): `workerPatchDays`, "node=days" oldest first ("never" for a worker
 * Caretaker never patched), `oldestWorkerPatchDays` over the patched ones and
 * `workersNeverPatched`. The dashboard's "days since patched" widget reads the newest line.
 */
export function workerPatchFields(
  workers: readonly { node: string; patchedAt: string }[],
  now: Date,
): { workerPatchDays: string; oldestWorkerPatchDays?: number; workersNeverPatched: number } {
  const days = workers
    .map((w) => {
      const at = w.patchedAt ? Date.parse(w.patchedAt) : NaN;
      return {
        node: w.node,
        days: Number.isNaN(at) ? undefined : Math.max(0, Math.round((now.getTime() - at) / 8_640_000) / 10),
      };
    })
    .sort((a, b) => (b.days ?? Infinity) - (a.days ?? Infinity) || a.node.localeCompare(b.node));
  const patched = days.filter((d) => d.days !== undefined).map((d) => d.days!);
  const listed = days.slice(0, WORKER_PATCH_LIST_MAX).map((d) => `${d.node}=${d.days ?? 'never'}`);
  if (days.length > WORKER_PATCH_LIST_MAX) listed.push(`+${days.length - WORKER_PATCH_LIST_MAX} more`);
  return {
    workerPatchDays: listed.join(' '),
    ...(patched.length > 0 && { oldestWorkerPatchDays: Math.max(...patched) }),
    workersNeverPatched: days.length - patched.length,
  };
}
