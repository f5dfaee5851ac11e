import { runHealthProbe, snapshotAges } from '../../../functions/health-probe/service';
import { emfMetricSink } from '../../../functions/shared/adapters/aws/emf-metric-sink';
import { parseConfig } from '../../../functions/shared/domain/config';
import { METRICS, METRICS_NAMESPACE } from '../../../functions/shared/domain/metrics';
import { fakeRunner, fixedClock, memoryStore, staticDirectory, staticInventory } from '../../support/fakes';

const CP = 'i-0a1b2c3d4e5f60001';
const NOW = '2026-11-30T03:00:00.000Z';

function probeOutput(overrides: { alarms?: string[]; unhealthy?: number; notReady?: string[] } = {}) {
  const members = [0, 1, 2].map((i) => ({
    endpoint: `https://10.0.0.${i}:2379`,
    memberId: `${100 + i}`,
    healthy: i >= (overrides.unhealthy ?? 0),
    isLeader: i === 2,
    dbSize: [1_073_741_824, 900_000_000, 800_000_000][i]!,
    dbSizeInUse: 500_000_000,
    raftTerm: 7 + i,
    errors: '[]',
  }));
  return {
    instanceId: CP,
    etcd: { error: '', membersTotal: 3, members, alarms: overrides.alarms ?? [] },
    kubernetes: {
      error: '',
      nodesTotal: 5,
      notReady: overrides.notReady ?? [],
      diskPressure: [],
      apiServers: [
        { node: 'cp-a', address: '10.0.0.1', ready: true },
        { node: 'cp-b', address: '10.0.0.2', ready: false },
      ],
    },
  };
}

function world(stdout?: string) {
  const runner = fakeRunner();
  const lines: string[] = [];
  const logged: Record<string, unknown>[] = [];
  const clock = fixedClock(NOW);
  const store = memoryStore({
    'prod-eu/etcd/2026/11/30/20261130T020000Z-r100.db': { body: 'x' },
    'prod-eu/etcd/2026/11/29/20261129T020000Z-r90.db': { body: 'x' },
    'prod-eu/etcd/2026/11/29/20261129T020000Z-r90.verification.json': {
      body: JSON.stringify({ verified: true }),
    },
    'prod-eu/etcd/2026/11/30/20261130T020000Z-r100.verification.json': {
      body: JSON.stringify({ verified: false }),
    },
  });
  const deps = {
    clusters: staticDirectory(
      parseConfig({
        clusters: [
          {
            name: 'prod-eu',
            kind: 'kubeadm',
            region: 'eu-west-1',
            etcd: { quotaBackendBytes: 2 * 1024 ** 3 },
          },
        ],
      }).clusters,
    ),
    inventory: staticInventory([{ instanceId: CP }]),
    runner: {
      ...runner,
      send: async (req: Parameters<typeof runner.send>[0]) => {
        const out = await runner.send(req);
        if (stdout !== undefined)
          runner.finish(out.commandId, req.instanceId, {
            status: 'Success',
            exitCode: 0,
            stdout,
            stderr: '',
          });
        return out;
      },
    },
    documents: { 'health-probe': 'Caretaker-HealthProbe-ABC' },
    store,
    metrics: emfMetricSink((l) => lines.push(l), clock),
    clock,
    sleep: async () => clock.set(new Date(clock.now().getTime() + 1000).toISOString()),
    log: (_m: string, f: Record<string, unknown>) => logged.push(f),
    waitMs: 5000,
  };
  return { deps, runner, lines, logged };
}

describe('runHealthProbe', () => {
  it('sends one command to one control-plane node and publishes the catalogued metrics per cluster', async () => {
    const w = world(
      `progress\nCARETAKER_RESULT ${JSON.stringify(probeOutput({ unhealthy: 1, alarms: ['NOSPACE'], notReady: ['worker-3'] }))}\n`,
    );
    const out = await runHealthProbe({ cluster: 'prod-eu' }, w.deps);

    expect(w.runner.sent).toEqual([
      expect.objectContaining({ documentName: 'Caretaker-HealthProbe-ABC', instanceId: CP }),
    ]);
    expect(w.runner.sent[0]!.parameters).toMatchObject({
      Kubeconfig: '/etc/kubernetes/admin.conf',
      EtcdctlMode: 'crictl',
    });
    expect(out).toMatchObject({ probed: true, problem: '' });
    const emf = JSON.parse(w.lines[0]!) as Record<string, unknown> & {
      _aws: {
        CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string }[] }[];
      };
    };
    expect(emf._aws.CloudWatchMetrics).toEqual([
      {
        Namespace: METRICS_NAMESPACE,
        Dimensions: [['cluster']],
        Metrics: expect.arrayContaining(
          Object.keys(METRICS).map((Name) => ({ Name, Unit: METRICS[Name]!.unit })),
        ),
      },
    ]);
    expect(emf).toMatchObject({
      cluster: 'prod-eu',
      EtcdMembersUnhealthy: 1,
      EtcdDbUsedPercent: 50,
      EtcdRaftTerm: 9,
      EtcdAlarmsRaised: 1,
      ApiServersNotReady: 1,
      NodesNotReady: 1,
      SnapshotAgeSeconds: 3600,
      VerifiedSnapshotAgeSeconds: 90_000,
      // log fields only, no metric
      EtcdDbSizeBytes: 1_073_741_824,
      NodesTotal: 5,
    });
    expect(w.logged[0]).toMatchObject({
      etcdAlarms: ['NOSPACE'],
      nodesNotReady: ['worker-3'],
      apiServersNotReady: ['cp-b'],
    });
  });

  it('publishes no etcd value when the probe does not finish, so the breaching alarms notice', async () => {
    const w = world(undefined);
    const out = await runHealthProbe({ cluster: 'prod-eu' }, w.deps);

    expect(out.probed).toBe(false);
    expect(out.problem).toMatch(/did not finish in time/);
    expect(out.published).toEqual(['SnapshotAgeSeconds', 'VerifiedSnapshotAgeSeconds']);
  });

  it('counts the API as not ready when it does not answer through the kubeconfig, and publishes no Node count', async () => {
    const out = probeOutput();
    const w = world(
      `CARETAKER_RESULT ${JSON.stringify({
        ...out,
        kubernetes: {
          ...out.kubernetes,
          error: 'kubectl get nodes failed: connection refused',
          nodesTotal: 0,
          // the node's own API server, asked directly, answers: it is the way to it that does not
          apiServers: [{ node: 'cp-a', address: 'https://127.0.0.1:6443', ready: true }],
        },
      })}\n`,
    );
    const result = await runHealthProbe({ cluster: 'prod-eu' }, w.deps);

    expect(result.published).toContain('ApiServersNotReady');
    expect(result.published).not.toContain('NodesNotReady');
    expect(JSON.parse(w.lines[0]!)).toMatchObject({ ApiServersNotReady: 1 });
    expect(w.logged[0]).toMatchObject({ kubernetesError: 'kubectl get nodes failed: connection refused' });
  });

  it('logs the days since each worker was patched, oldest first, never-patched ones first of all', async () => {
    const out = probeOutput();
    const w = world(
      `CARETAKER_RESULT ${JSON.stringify({
        ...out,
        kubernetes: {
          ...out.kubernetes,
          workers: [
            { node: 'worker-1', patchedAt: '2026-11-28T03:00:00Z' },
            { node: 'worker-2', patchedAt: '2026-11-15T15:00:00.5Z' },
            { node: 'worker-3', patchedAt: '' },
          ],
        },
      })}\n`,
    );
    await runHealthProbe({ cluster: 'prod-eu' }, w.deps);

    expect(w.logged[0]).toMatchObject({
      workerPatchDays: 'worker-3=never worker-2=14.5 worker-1=2',
      oldestWorkerPatchDays: 14.5,
      workersNeverPatched: 1,
    });
    // a log field, not a metric: nothing per node is paid for
    const emf = JSON.parse(w.lines[0]!) as { _aws: { CloudWatchMetrics: { Metrics: { Name: string }[] }[] } };
    expect(emf._aws.CloudWatchMetrics[0]!.Metrics.map((m) => m.Name)).not.toContain('oldestWorkerPatchDays');
  });

  it('reports a probe whose output has no result line as a problem, not a crash', async () => {
    const w = world('nothing useful\n');
    const out = await runHealthProbe({ cluster: 'prod-eu' }, w.deps);
    expect(out).toMatchObject({ probed: false, problem: 'the probe printed no valid CARETAKER_RESULT' });
  });
});

describe('snapshotAges with etcd-manager taking the backups (kops)', () => {
  it('measures only the verified age, from the newest passed verdict on a main-cluster backup', async () => {
    const store = memoryStore({
      'kops-prod/etcd-manager/main/2026-11-30T02:45:00Z-000011.verification.json': {
        body: JSON.stringify({
          verified: false,
          key: 'state/k8s/backups/etcd/main/2026-11-30T02:45:00Z-000011/etcd.backup.gz',
        }),
      },
      'kops-prod/etcd-manager/main/2026-11-30T02:00:00Z-000008.verification.json': {
        body: JSON.stringify({
          verified: true,
          key: 'state/k8s/backups/etcd/main/2026-11-30T02:00:00Z-000008/etcd.backup.gz',
        }),
      },
      // an events verdict is not the main cluster's
      'kops-prod/etcd-manager/events/2026-11-30T02:50:00Z-000012.verification.json': {
        body: JSON.stringify({ verified: true }),
      },
    });

    const ages = await snapshotAges(store, 'kops-prod', new Date(NOW), { etcdManager: true });

    expect(ages).toEqual({
      verifiedKey: 'state/k8s/backups/etcd/main/2026-11-30T02:00:00Z-000008/etcd.backup.gz',
      verifiedAgeSeconds: 3600,
    });
  });

  it('has no snapshot-age alarm for such a cluster, only the verified-age one', () => {
    const [cluster] = parseConfig({
      clusters: [
        {
          name: 'kops-prod',
          kind: 'kops',
          region: 'eu-west-1',
          kops: { stateStore: 's3://kops-state/prefix' },
          restoreVerify: { launchTemplate: 'lt-0123456789abcdef0' },
        },
      ],
    }).clusters;

    const metrics = cluster!.health!.alarms.map((a) => a.metric);

    expect(metrics).toContain('VerifiedSnapshotAgeSeconds');
    expect(metrics).not.toContain('SnapshotAgeSeconds');
  });
});
