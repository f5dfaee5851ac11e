import { parseCommandResult } from '../shared/domain/command-result';
import { healthProbe, probeResult, type ProbeResult } from '../shared/domain/commands/health-probe';
import { planCommand } from '../shared/domain/commands';
import { ETCD_QUOTA_DEFAULT } from '../shared/domain/config';
import { summarizeProbe, type SnapshotAges } from '../shared/domain/health';
import { parseSnapshotKey, snapshotPrefix } from '../shared/domain/snapshot-key';
import {
  etcdManagerVerificationPrefix,
  parseEtcdManagerVerificationKey,
} from '../shared/domain/etcd-manager';
import type {
  Clock,
  ClusterDirectory,
  CommandRunner,
  Inventory,
  MetricSink,
  SnapshotStore,
} from '../shared/ports';

export interface HealthProbeDeps {
  clusters: ClusterDirectory;
  inventory: Inventory;
  runner: CommandRunner;
  /** logical command name → deployed SSM document name */
  documents: Record<string, string>;
  store: SnapshotStore;
  metrics: MetricSink;
  clock: Clock;
  sleep: (ms: number) => Promise<void>;
  log: (message: string, fields: Record<string, unknown>) => void;
  /** how long to wait for the probe command; it usually takes a few seconds */
  waitMs?: number;
}

const TERMINAL = new Set(['Success', 'Failed', 'Cancelled', 'TimedOut']);
/** how many verification reports, newest first, to read looking for a passed one */
const REPORTS_TO_READ = 5;

/**
 * The newest snapshot's age, and the newest verified one's (from the verification reports
 * restore-verify writes beside each snapshot it restored), from the bucket listing. With
 * `etcdManager` (kops, backup.source etcd-manager) the snapshots are etcd-manager's, in the state
 * store: only the verified age is measured, from Caretaker's verdicts on the main cluster's backups.
 */
export async function snapshotAges(
  store: SnapshotStore,
  cluster: string,
  now: Date,
  options: { etcdManager?: boolean } = {},
): Promise<SnapshotAges> {
  const age = (t: Date) => Math.max(0, Math.round((now.getTime() - t.getTime()) / 1000));
  const ages: SnapshotAges = {};
  if (options.etcdManager) {
    const verdicts = (await store.list(`${etcdManagerVerificationPrefix(cluster)}main/`))
      .map((o) => ({ key: o.key, ref: parseEtcdManagerVerificationKey(o.key) }))
      .filter((v) => v.ref !== undefined)
      .sort((a, b) => b.ref!.takenAt.getTime() - a.ref!.takenAt.getTime())
      .slice(0, REPORTS_TO_READ);
    for (const v of verdicts) {
      const report = (await store.getJson(v.key)) as { verified?: unknown; key?: unknown } | undefined;
      if (report?.verified === true) {
        ages.verifiedKey = typeof report.key === 'string' ? report.key : v.key;
        ages.verifiedAgeSeconds = age(v.ref!.takenAt);
        break;
      }
    }
    return ages;
  }
  const objects = await store.list(snapshotPrefix(cluster));
  const snapshots = objects
    .map((o) => parseSnapshotKey(o.key))
    .filter((r) => r !== undefined)
    .sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime());
  if (snapshots[0]) {
    ages.newestKey = snapshots[0].key;
    ages.newestAgeSeconds = age(snapshots[0].takenAt);
  }
  const reports = objects
    .map((o) => o.key)
    .filter((k) => k.endsWith('.verification.json'))
    .map((k) => parseSnapshotKey(k.replace(/\.verification\.json$/, '.db')))
    .filter((r) => r !== undefined)
    .sort((a, b) => b.takenAt.getTime() - a.takenAt.getTime())
    .slice(0, REPORTS_TO_READ);
  for (const ref of reports) {
    const report = (await store.getJson(ref.key.replace(/\.db$/, '.verification.json'))) as
      { verified?: unknown } | undefined;
    if (report?.verified === true) {
      ages.verifiedKey = ref.key;
      ages.verifiedAgeSeconds = age(ref.takenAt);
      break;
    }
  }
  return ages;
}

/**
 * One probe of one cluster: the health-probe document on one control-plane node, waited for
 * here (it takes seconds; a Step Functions execution and a task token would cost more than the
 * probe), plus the snapshot ages from S3, published as the catalogued metrics with the details
 * as log fields. A probe that cannot run publishes no etcd value: the etcd alarms treat missing
 * data as breaching, so a blind probe is noticed.
 */
export async function runHealthProbe(input: { cluster: string }, deps: HealthProbeDeps) {
  const cluster = await deps.clusters.get(input.cluster);
  const now = deps.clock.now();
  let result: ProbeResult | undefined;
  let problem = '';
  if (cluster.etcd) {
    const plan = planCommand(healthProbe.name, cluster, {
      executionId: `probe-${now.toISOString()}`,
      bucket: '',
    });
    const instances = await deps.inventory.findManagedInstances(cluster.controlPlaneTags);
    // spread the probe over the control-plane nodes, one per run
    const instance = instances[Math.floor(now.getTime() / 60_000) % Math.max(1, instances.length)];
    if (!instance) {
      problem = 'no control-plane instance is online in SSM';
    } else {
      const { commandId } = await deps.runner.send({
        documentName: deps.documents[healthProbe.name] ?? healthProbe.name,
        instanceId: instance.instanceId,
        parameters: plan.parameters,
        deliveryTimeoutSeconds: plan.deliveryTimeoutSeconds,
        comment: `caretaker health-probe ${cluster.name}`,
      });
      const deadline = now.getTime() + (deps.waitMs ?? 45_000);
      for (;;) {
        const inv = await deps.runner.getInvocation(commandId, instance.instanceId);
        if (inv && TERMINAL.has(inv.status)) {
          if (inv.status === 'Success') {
            let raw: unknown;
            try {
              raw = parseCommandResult(inv.stdout);
            } catch {
              raw = undefined;
            }
            const parsed = probeResult.safeParse(raw);
            if (parsed.success) result = parsed.data;
            else problem = 'the probe printed no valid CARETAKER_RESULT';
          } else {
            problem = `the probe command ended ${inv.status} on ${instance.instanceId}`;
          }
          break;
        }
        if (deps.clock.now().getTime() >= deadline) {
          problem = `the probe command ${commandId} did not finish in time on ${instance.instanceId}`;
          break;
        }
        await deps.sleep(1000);
      }
    }
  }
  const ages = await snapshotAges(deps.store, cluster.name, now, {
    etcdManager: cluster.backup.source === 'etcd-manager',
  });
  const { values, fields } = summarizeProbe(
    result,
    cluster.etcd?.quotaBackendBytes ?? ETCD_QUOTA_DEFAULT,
    ages,
    now,
  );
  await deps.metrics.record({ cluster: cluster.name }, values);
  deps.log('health probe', { cluster: cluster.name, ...fields, ...(problem && { probeError: problem }) });
  return {
    cluster: cluster.name,
    probed: result !== undefined,
    problem,
    published: Object.keys(values).sort(),
  };
}
