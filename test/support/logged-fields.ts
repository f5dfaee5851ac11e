/**
 * What the functions the dashboard's Logs Insights widgets read really write: each runs its real
 * service once, with fakes behind its ports and the real embedded-metric-format sink, on inputs
 * that carry every optional figure, and the field names of its lines are collected (the EMF
 * line's fields and, for the probe, its structured log line's). The contract test compares the
 * fields a widget queries with these.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { runHealthProbe } from '../../functions/health-probe/service';
import { publishOutcome } from '../../functions/publish-outcome/service';
import { recordPatch } from '../../functions/record-patch/service';
import { recordVerification } from '../../functions/record-verification/service';
import { emfMetricSink } from '../../functions/shared/adapters/aws/emf-metric-sink';
import { parseConfig } from '../../functions/shared/domain/config';
import { verificationResult } from '../../functions/shared/domain/schemas';
import {
  fakeRunner,
  fixedClock,
  memoryStore,
  recordingNotifier,
  staticDirectory,
  staticInventory,
} from './fakes';

export interface FunctionLines {
  /** every field name of every line it wrote */
  fields: Set<string>;
  /** the metric names its EMF lines publish (CloudWatchMetrics) */
  published: Set<string>;
}

const NOW = '2026-11-30T03:00:00.000Z';
const EVENTS = join(__dirname, '..', '..', 'events');

function collector() {
  const lines: FunctionLines = { fields: new Set(), published: new Set() };
  const sink = emfMetricSink((line) => {
    const parsed = JSON.parse(line) as Record<string, unknown> & {
      _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] };
    };
    for (const k of Object.keys(parsed)) if (k !== '_aws') lines.fields.add(k);
    for (const g of parsed._aws.CloudWatchMetrics) for (const m of g.Metrics) lines.published.add(m.Name);
  }, fixedClock(NOW));
  const log = (_message: string, fields: Record<string, unknown>) => {
    for (const k of Object.keys(fields)) lines.fields.add(k);
  };
  return { lines, sink, log };
}

async function healthProbeLines(): Promise<FunctionLines> {
  const c = collector();
  const clock = fixedClock(NOW);
  const runner = fakeRunner();
  const result = {
    instanceId: 'i-0a1b2c3d4e5f60001',
    etcd: {
      error: '',
      membersTotal: 1,
      members: [
        {
          endpoint: 'https://10.0.0.1:2379',
          memberId: '1',
          healthy: true,
          isLeader: true,
          dbSize: 1024,
          dbSizeInUse: 512,
          raftTerm: 2,
          errors: '[]',
        },
      ],
      alarms: [],
    },
    kubernetes: {
      error: '',
      nodesTotal: 2,
      notReady: [],
      diskPressure: [],
      apiServers: [{ node: 'cp-a', address: '10.0.0.1', ready: true }],
      workers: [
        { node: 'worker-1', patchedAt: '2026-11-20T03:00:00Z' },
        { node: 'worker-2', patchedAt: '' },
      ],
    },
  };
  await runHealthProbe(
    { cluster: 'prod-eu' },
    {
      clusters: staticDirectory(
        parseConfig({ clusters: [{ name: 'prod-eu', kind: 'kubeadm', region: 'eu-west-1' }] }).clusters,
      ),
      inventory: staticInventory([{ instanceId: result.instanceId }]),
      runner: {
        ...runner,
        async send(req) {
          const sent = await runner.send(req);
          runner.finish(sent.commandId, req.instanceId, {
            status: 'Success',
            exitCode: 0,
            stdout: `CARETAKER_RESULT ${JSON.stringify(result)}\n`,
            stderr: '',
          });
          return sent;
        },
      },
      documents: {},
      store: memoryStore({
        'prod-eu/etcd/2026/11/30/20261130T020000Z-r100.db': { body: 'x' },
        'prod-eu/etcd/2026/11/30/20261130T020000Z-r100.verification.json': {
          body: JSON.stringify({ verified: true }),
        },
      }),
      metrics: c.sink,
      clock,
      sleep: async () => undefined,
      log: c.log,
    },
  );
  return c.lines;
}

async function publishOutcomeLines(): Promise<FunctionLines> {
  const c = collector();
  for (const outcome of ['Succeeded', 'Paused'] as const) {
    await publishOutcome(
      {
        cluster: 'prod-eu',
        workflow: 'etcd-backup',
        outcome,
        executionId: 'arn:aws:states:eu-west-1:123456789012:execution:backup:run-1',
        startedAt: '2026-11-30T02:59:00.000Z',
        snapshot: { key: 'prod-eu/etcd/k.db', size: 2048, sha256: 'a'.repeat(64), revision: 9 },
      },
      { notifier: recordingNotifier(), metrics: c.sink, clock: fixedClock(NOW) },
    );
  }
  return c.lines;
}

async function recordVerificationLines(): Promise<FunctionLines> {
  const c = collector();
  const verified = verificationResult.parse(
    JSON.parse(readFileSync(join(EVENTS, 'restore-verify', 'verified.json'), 'utf8')),
  );
  await recordVerification(
    { cluster: 'prod-eu', executionId: 'exec-1', key: verified.key, verification: verified },
    { store: memoryStore({ [verified.key]: { body: 'x' } }), metrics: c.sink, clock: fixedClock(NOW) },
  );
  return c.lines;
}

async function recordPatchLines(): Promise<FunctionLines> {
  const c = collector();
  await recordPatch(
    {
      cluster: 'prod-eu',
      executionName: 'patch-run-1',
      node: 'worker-1',
      instanceId: 'i-0beef00000000001',
      outcome: 'patched',
      startedAt: '2026-11-30T02:30:00.000Z',
      patch: {
        manager: 'apt',
        packages: 2,
        changed: ['openssl', 'libc6'],
        rebootRequired: true,
        rebooted: true,
        bootIdBefore: 'a',
        bootIdAfter: 'b',
      },
    },
    { tagger: { tag: async () => undefined }, store: memoryStore(), metrics: c.sink, clock: fixedClock(NOW) },
  );
  return c.lines;
}

/** function folder name → what its lines carry */
export async function loggedFields(): Promise<Record<string, FunctionLines>> {
  return {
    'health-probe': await healthProbeLines(),
    'publish-outcome': await publishOutcomeLines(),
    'record-verification': await recordVerificationLines(),
    'record-patch': await recordPatchLines(),
  };
}
