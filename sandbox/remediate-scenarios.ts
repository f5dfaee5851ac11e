/**
 * `npx tsx sandbox/main.ts remediate <scenario>`: breaks the sandbox the way the scenario says
 * (for real: a full etcd quota, a stopped member, no backup), feeds the documented-shape alarm
 * event (events/aws.cloudwatch/) through the real route-alarm handler and runs the remediate
 * execution it starts in the local ASL runner, then prints what happened and the state after.
 */
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import type { RouteName } from '../functions/shared/domain/remediation';
import type { Json, RunEvent, RunResult } from './asl-runner';
import { NODE_SCENARIOS } from './node-scenarios';
import type { Sandbox } from './sandbox';

export const REMEDIATE_SCENARIOS = [
  'db-size',
  'member-down',
  'stale-backup',
  'node-notready',
  'node-notready-replace',
  'disk-pressure',
] as const;
export type RemediateScenario = (typeof REMEDIATE_SCENARIOS)[number];

export const isRemediateScenario = (s: string | undefined): s is RemediateScenario =>
  (REMEDIATE_SCENARIOS as readonly string[]).includes(s ?? '');

/** the worker the disk-pressure scenario's alarm names */
export const DISK_PRESSURE_NODE = 'worker-1';

/** the small quota db-size fills: about 16 puts of 1 MiB raise NOSPACE */
export const SCENARIO_QUOTA_BYTES = 16 * 2 ** 20;

export interface Scenario {
  route: RouteName;
  metric: string;
  summary: string;
  /** what the sandbox starts with */
  quotaBackendBytes?: number;
  /** breaks the sandbox; returns lines describing what it did */
  breakIt(sandbox: Sandbox): Promise<string[]>;
  /** the state after the run, as lines */
  after(sandbox: Sandbox): Promise<string[]>;
  /** the alarm's event, when it is not Caretaker's own single-metric alarm on the cluster */
  event?(sandbox: Sandbox): Json;
  /** the scenario needs the Kubernetes control plane and KWOK's Nodes */
  kubernetes?: boolean;
  /** the sandbox cluster's configuration blocks the scenario needs (Sandbox.start clusterConfig) */
  clusterConfig?: Record<string, unknown>;
  /** the alarm's dimensions besides the cluster (the node it is about) */
  dimensions?: Record<string, string>;
  /** Wait states that really wait, ms by state name (the sandbox's are zero otherwise) */
  waitMs?: Record<string, number>;
}

const MiB = 2 ** 20;

async function alarmList(sandbox: Sandbox): Promise<string> {
  const out = (await sandbox.etcd.client().run(['alarm', 'list'])).trim();
  return out === '' ? 'none' : out.replace(/\n/g, ', ');
}

async function dbSizes(sandbox: Sandbox): Promise<string[]> {
  const lines: string[] = [];
  for (const [i, m] of sandbox.etcd.members.entries()) {
    try {
      const status = JSON.parse(await sandbox.etcd.client(i).run(['endpoint', 'status', '-w', 'json'])) as {
        Status: { dbSize: number; dbSizeInUse?: number };
      }[];
      const s = status[0]!.Status;
      lines.push(
        `  ${m.name}: db ${(s.dbSize / MiB).toFixed(1)} MiB${s.dbSizeInUse ? ` (${(s.dbSizeInUse / MiB).toFixed(1)} MiB in use)` : ''}`,
      );
    } catch (e) {
      lines.push(`  ${m.name}: does not answer (${(e as Error).message.split('\n')[0]})`);
    }
  }
  return lines;
}

async function health(sandbox: Sandbox): Promise<string[]> {
  const lines: string[] = [];
  for (const [i, m] of sandbox.etcd.members.entries()) {
    lines.push(`  ${m.name}: ${(await sandbox.etcd.client(i).isHealthy()) ? 'healthy' : 'NOT healthy'}`);
  }
  return lines;
}

export const SCENARIOS: Record<RemediateScenario, Scenario> = {
  'db-size': {
    route: 'etcd-db-size',
    metric: 'EtcdDbUsedPercent',
    summary: `etcd past a ${SCENARIO_QUOTA_BYTES / MiB} MiB quota (NOSPACE raised)`,
    quotaBackendBytes: SCENARIO_QUOTA_BYTES,
    async breakIt(sandbox) {
      // one key overwritten: the history, not the live data, fills the database
      const value = 'x'.repeat(MiB);
      for (let i = 0; i < 40; i++) {
        try {
          await sandbox.etcd.client(0).run(['put', '/fill/key'], value);
        } catch (err) {
          if (!/database space exceeded/.test(String(err))) throw err;
          return [
            `filled past the quota with ${i} puts of 1 MiB: alarms ${await alarmList(sandbox)}`,
            ...(await dbSizes(sandbox)),
          ];
        }
      }
      throw new Error('the quota never filled');
    },
    async after(sandbox) {
      return [`alarms ${await alarmList(sandbox)}`, ...(await dbSizes(sandbox))];
    },
  },
  'member-down': {
    route: 'etcd-member-unhealthy',
    metric: 'EtcdMembersUnhealthy',
    summary: 'etcd member 2 stopped',
    async breakIt(sandbox) {
      await sandbox.etcd.stopMember(1);
      return [`stopped ${sandbox.etcd.member(1).name} (its process, by PID)`, ...(await health(sandbox))];
    },
    async after(sandbox) {
      const systemctl = sandbox.etcd.members
        .map((m, i) => ({ m, log: sandbox.systemctlLog(i).trim() }))
        .filter((x) => x.log !== '')
        .map((x) => `  systemctl on ${x.m.name}'s node: ${x.log.replace(/\t/g, ' ')}`);
      return [...systemctl, ...(await health(sandbox))];
    },
  },
  'stale-backup': {
    route: 'stale-backup',
    metric: 'SnapshotAgeSeconds',
    summary: 'no snapshot in S3 (the backup is stale)',
    async breakIt(sandbox) {
      return [`snapshots in s3://${sandbox.endpoints().bucket}: ${(await snapshots(sandbox)).length}`];
    },
    async after(sandbox) {
      const keys = await snapshots(sandbox);
      return [
        `snapshots in s3://${sandbox.endpoints().bucket}: ${keys.length}`,
        ...keys.map((k) => `  ${k}`),
      ];
    },
  },
  'disk-pressure': {
    route: 'disk-pressure',
    metric: 'disk_used_percent',
    summary: `the root volume of ${DISK_PRESSURE_NODE} above 90% (a CloudWatch agent alarm routed by its tags)`,
    async breakIt(sandbox) {
      const node = diskPressureNode(sandbox);
      return [
        `${node.name} (${node.instanceId}): disk_used_percent 93.4 ≥ 90, alarm tagged caretaker:route=disk-pressure`,
        ...toolLines(sandbox),
      ];
    },
    async after(sandbox) {
      return toolLines(sandbox);
    },
    event: (sandbox) => diskPressureEvent(sandbox.cluster.name, diskPressureNode(sandbox).instanceId),
  },
  // node-notready: a KWOK Node made NotReady for real; EC2 and Auto Scaling stand-ins (node-scenarios.ts)
  ...NODE_SCENARIOS,
};

function diskPressureNode(sandbox: Sandbox): { name: string; instanceId: string } {
  const node = [...sandbox.fleet.nodes.values()].find((n) => n.name === DISK_PRESSURE_NODE);
  if (!node) throw new Error(`the sandbox has no ${DISK_PRESSURE_NODE}`);
  return { name: node.name, instanceId: node.instanceId };
}

/** what node-prune ran on the worker: the crictl and journalctl stand-ins' recorded invocations */
function toolLines(sandbox: Sandbox): string[] {
  const lines: string[] = [];
  for (const tool of ['crictl', 'journalctl'] as const) {
    const log = sandbox.workerToolLog(DISK_PRESSURE_NODE, tool).trim();
    lines.push(
      `  ${tool} on ${DISK_PRESSURE_NODE}: ${
        log === ''
          ? 'never run'
          : log
              .split('\n')
              .map((l) => `${tool} ${l.replace(/\t/g, ' ')}`)
              .join('; ')
      }`,
    );
  }
  return lines;
}

/**
 * A CloudWatch agent's disk alarm on one worker in the documented single-metric shape with an
 * instance dimension (events/aws.cloudwatch/single-metric-instance-alarm.json), routed by its
 * tags `caretaker:cluster` and `caretaker:route`.
 */
export function diskPressureEvent(cluster: string, instanceId: string, at = new Date()): Json {
  const sample = JSON.parse(
    readFileSync(
      join(__dirname, '..', 'events', 'aws.cloudwatch', 'single-metric-instance-alarm.json'),
      'utf8',
    ),
  ) as {
    id: string;
    time: string;
    resources: string[];
    detail: {
      alarmName: string;
      alarmTags: Record<string, string>;
      configuration: { metrics: { metricStat: { metric: { dimensions: Record<string, string> } } }[] };
      state: { timestamp: string };
    };
  };
  const name = `${cluster}-worker-disk-full`;
  sample.id = randomUUID();
  sample.time = at.toISOString().replace(/\.\d+Z$/, 'Z');
  sample.resources = [`arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${name}`];
  sample.detail.alarmName = name;
  sample.detail.alarmTags = { 'caretaker:cluster': cluster, 'caretaker:route': 'disk-pressure' };
  sample.detail.configuration.metrics[0]!.metricStat.metric.dimensions.InstanceId = instanceId;
  sample.detail.state.timestamp = at.toISOString().replace('Z', '+0000');
  return sample as unknown as Json;
}

/** the snapshot objects (not their manifests) in the sandbox bucket */
export async function snapshots(sandbox: Sandbox): Promise<string[]> {
  const listed = await sandbox.s3
    .client()
    .send(new ListObjectsV2Command({ Bucket: sandbox.endpoints().bucket }));
  return (listed.Contents ?? []).map((o) => o.Key!).filter((k) => /\.db(\.gz|\.zst)?$/.test(k));
}

/**
 * The alarm's state-change event in the documented single-metric shape
 * (events/aws.cloudwatch/single-metric-alarm.json), for the sandbox cluster's alarm of `route`.
 */
export function alarmEvent(
  cluster: string,
  route: RouteName,
  metric: string,
  at = new Date(),
  dimensions: Record<string, string> = {},
): Json {
  const sample = JSON.parse(
    readFileSync(join(__dirname, '..', 'events', 'aws.cloudwatch', 'single-metric-alarm.json'), 'utf8'),
  ) as {
    id: string;
    time: string;
    resources: string[];
    detail: {
      alarmName: string;
      configuration: {
        description: string;
        metrics: { metricStat: { metric: { dimensions: object; name: string; namespace: string } } }[];
      };
      state: { timestamp: string };
    };
  };
  const name = `caretaker.${cluster}.${route}`;
  sample.id = randomUUID();
  sample.time = at.toISOString().replace(/\.\d+Z$/, 'Z');
  sample.resources = [`arn:aws:cloudwatch:eu-west-1:123456789012:alarm:${name}`];
  sample.detail.alarmName = name;
  sample.detail.configuration.description = `${route} on ${cluster} (sandbox)`;
  sample.detail.configuration.metrics[0]!.metricStat.metric = {
    dimensions: { cluster, ...dimensions },
    name: metric,
    namespace: 'Caretaker',
  };
  sample.detail.state.timestamp = at.toISOString().replace('Z', '+0000');
  return sample as unknown as Json;
}

export interface ScenarioRun {
  scenario: RemediateScenario;
  before: string[];
  routed: Record<string, unknown>;
  input?: Record<string, Json>;
  result?: RunResult;
  after: string[];
}

/** breaks the sandbox, routes the alarm, runs the remediation, reads the state after */
export async function runScenario(
  sandbox: Sandbox,
  scenario: RemediateScenario,
  options: { dryRun?: boolean; onEvent?: (e: RunEvent) => void } = {},
): Promise<ScenarioRun> {
  const s = SCENARIOS[scenario];
  const before = await s.breakIt(sandbox);
  const { routed, input, result } = await sandbox.routeAlarm(
    s.event?.(sandbox) ?? alarmEvent(sandbox.cluster.name, s.route, s.metric, new Date(), s.dimensions),
    options.onEvent,
    options.dryRun ? { dryRun: true } : {},
    s.waitMs,
  );
  return { scenario, before, routed, input, result, after: await s.after(sandbox) };
}
