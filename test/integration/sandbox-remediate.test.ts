import { NODE_SCENARIO_CONFIG, NOTREADY_NODE, REPLACED_NODE } from '../../sandbox/node-scenarios';
import {
  diskPressureEvent,
  DISK_PRESSURE_NODE,
  runScenario,
  SCENARIO_QUOTA_BYTES,
  snapshots,
} from '../../sandbox/remediate-scenarios';
import { Sandbox } from '../../sandbox/sandbox';

// a loaded machine: three real etcd members, S3, DynamoDB, every node command a real script
jest.setTimeout(300_000);

// one sandbox for the file: etcd with a small quota, no Kubernetes (the scenarios are etcd's)
let sandbox: Sandbox;

beforeAll(async () => {
  sandbox = await Sandbox.start({ keys: 300, quotaBackendBytes: SCENARIO_QUOTA_BYTES });
});

afterAll(async () => {
  await sandbox?.stop();
});

const dbSize = async (i: number) =>
  (
    JSON.parse(await sandbox.etcd.client(i).run(['endpoint', 'status', '-w', 'json'])) as {
      Status: { dbSize: number };
    }[]
  )[0]!.Status.dbSize;

describe('sandbox remediate <scenario>: a real fault, the alarm through route-alarm, the real ASL', () => {
  it('db-size: a cluster past its quota (NOSPACE) is compacted, defragmented one member at a time and disarmed', async () => {
    const sent: { documentName: string; instanceId: string; action?: string }[] = [];
    sandbox.hooks.afterCommand = (r) =>
      sent.push({ documentName: r.documentName, instanceId: r.instanceId, action: r.parameters['Action'] });
    const run = await runScenario(sandbox, 'db-size');
    sandbox.hooks.afterCommand = undefined;

    expect(run.before.join('\n')).toMatch(/alarm:NOSPACE/);
    expect(run.routed).toMatchObject({ started: true, route: 'etcd-db-size', cluster: 'sandbox' });
    expect(run.input).toMatchObject({ route: 'etcd-db-size', alarmName: 'caretaker.sandbox.etcd-db-size' });
    expect(run.result?.status).toBe('SUCCEEDED');
    expect(sandbox.notifier.messages.at(-1)?.subject).toMatch(/remediate succeeded/);
    // the real etcd-status saw the alarm, named exactly, and the health gate still let it act
    const statuses = (run.result!.output as { statuses: { alarms: string[]; healthy: boolean }[] }).statuses;
    expect(statuses).toHaveLength(3);
    for (const s of statuses) expect(s).toMatchObject({ healthy: false, alarms: ['NOSPACE'] });
    // compact once, then each member defragmented on its own node, one after another, then disarm
    const maintenance = sent.filter((c) => c.documentName === 'etcd-maintenance');
    expect(maintenance.map((c) => c.action)).toEqual(['compact', 'defrag', 'defrag', 'defrag', 'disarm']);
    const defragged = maintenance.filter((c) => c.action === 'defrag').map((c) => c.instanceId);
    expect(new Set(defragged).size).toBe(3);
    expect(await sandbox.etcd.client().run(['alarm', 'list'])).not.toMatch(/NOSPACE/);
    for (let i = 0; i < 3; i++) expect(await dbSize(i)).toBeLessThan(SCENARIO_QUOTA_BYTES * 0.8);
    // writes work again
    await sandbox.etcd.client().run(['put', '/after/remediation', 'ok']);
  });

  it('member-down: the stopped member is restarted through systemctl restart etcd and is healthy again', async () => {
    const run = await runScenario(sandbox, 'member-down');

    expect(run.before.join('\n')).toMatch(/member-1: NOT healthy/);
    expect(run.routed).toMatchObject({ started: true, route: 'etcd-member-unhealthy' });
    expect(run.result?.status).toBe('SUCCEEDED');
    expect(sandbox.notifier.messages.at(-1)?.subject).toMatch(/remediate succeeded/);
    // exactly one restart, on the stopped member's node only
    expect(sandbox.systemctlLog(1)).toBe('restart\tetcd\n');
    expect(sandbox.systemctlLog(0)).toBe('');
    expect(sandbox.systemctlLog(2)).toBe('');
    for (let i = 0; i < 3; i++) expect(await sandbox.etcd.client(i).isHealthy()).toBe(true);
  });

  it('stale-backup: the nested etcd-backup runs and a real snapshot lands in S3', async () => {
    expect(await snapshots(sandbox)).toEqual([]);
    const run = await runScenario(sandbox, 'stale-backup');

    expect(run.result?.status).toBe('SUCCEEDED');
    const keys = await snapshots(sandbox);
    expect(keys).toHaveLength(1);
    expect(keys[0]).toMatch(/^sandbox\/etcd\/\d{4}\/\d{2}\/\d{2}\/\d{8}T\d{6}Z-r\d+\.db$/);
  });

  const worker = (name: string) => [...sandbox.fleet.nodes.values()].find((n) => n.name === name)!;

  it('disk-pressure: the worker the alarm names runs node-prune through SSM, exactly crictl rmi --prune and journalctl --vacuum-size=500M', async () => {
    const sent: { documentName: string; instanceId: string }[] = [];
    sandbox.hooks.afterCommand = (r) => sent.push({ documentName: r.documentName, instanceId: r.instanceId });
    const run = await runScenario(sandbox, 'disk-pressure');
    sandbox.hooks.afterCommand = undefined;

    const node = worker(DISK_PRESSURE_NODE);
    expect(run.routed).toMatchObject({ started: true, route: 'disk-pressure', cluster: 'sandbox' });
    expect(run.input).toMatchObject({ route: 'disk-pressure', instanceId: node.instanceId });
    expect(run.result?.status).toBe('SUCCEEDED');
    expect(sandbox.notifier.messages.at(-1)?.subject).toMatch(/remediate succeeded/);
    // one command, the prune, on that worker only
    expect(sent).toEqual([{ documentName: 'node-prune', instanceId: node.instanceId }]);
    // the stand-ins recorded exactly what the script ran, once each, on that worker
    expect(sandbox.workerToolLog(DISK_PRESSURE_NODE, 'crictl')).toBe('rmi\t--prune\n');
    expect(sandbox.workerToolLog(DISK_PRESSURE_NODE, 'journalctl')).toBe('--vacuum-size=500M\n');
    expect(sandbox.workerToolLog('worker-2', 'crictl')).toBe('');
    expect(sandbox.workerToolLog('worker-2', 'journalctl')).toBe('');
    expect(run.after.join('\n')).toMatch(/crictl on worker-1: crictl rmi --prune/);
  });

  it('disk-pressure --dry-run: says what it would run on the node and runs nothing', async () => {
    const other = worker('worker-2');
    const sent: string[] = [];
    sandbox.hooks.afterCommand = (r) => sent.push(r.documentName);
    const run = await sandbox.routeAlarm(diskPressureEvent('sandbox', other.instanceId), undefined, {
      dryRun: true,
    });
    sandbox.hooks.afterCommand = undefined;

    expect(run.routed).toMatchObject({ started: true, route: 'disk-pressure' });
    expect(run.result?.status).toBe('SUCCEEDED');
    expect(sent).toEqual([]);
    expect(sandbox.workerToolLog('worker-2', 'crictl')).toBe('');
    expect(sandbox.workerToolLog('worker-2', 'journalctl')).toBe('');
    const note = sandbox.notifier.messages.at(-1)!;
    expect(note.message).toMatch(/Dry run: nothing was changed/);
    expect(note.message).toContain(
      `run node-prune on ${other.instanceId}: crictl rmi --prune, journalctl --vacuum-size=500M`,
    );
  });
});

// node-notready needs Kubernetes: its own sandbox (the one above runs etcd on a 16 MiB quota),
// started for these two tests only
describe('sandbox remediate node-notready: a real KWOK Node NotReady, the EC2 and Auto Scaling stand-ins', () => {
  let k8s: Sandbox;

  beforeAll(async () => {
    k8s = await Sandbox.start({
      kubernetes: true,
      keys: 300,
      workers: 2,
      clusterConfig: NODE_SCENARIO_CONFIG,
    });
  });

  afterAll(async () => {
    await k8s?.stop();
  });

  it('node-notready: the NotReady worker is rebooted through EC2 and is Ready again with a new boot id', async () => {
    const id = [...k8s.fleet.nodes.values()].find((n) => n.kubernetesNodeName === NOTREADY_NODE)!.instanceId;
    const bootBefore = k8s.fleet.node(id).bootId;
    const run = await runScenario(k8s, 'node-notready');

    expect(run.before.join('\n')).toMatch(new RegExp(`${NOTREADY_NODE}: NotReady`));
    expect(run.routed).toMatchObject({ started: true, route: 'node-notready' });
    expect(run.input).toMatchObject({ node: NOTREADY_NODE });
    expect(run.result?.status).toBe('SUCCEEDED');
    expect(k8s.replacer.calls).toEqual([`RebootInstances InstanceIds=${id}`]);
    // the real node-status saw the Node Ready with the boot id of the new boot
    const status = (run.result!.output as { nodeOutcomes: { outcome: string }[] }).nodeOutcomes;
    expect(status).toEqual([{ node: NOTREADY_NODE, instanceId: id, outcome: 'ready-after-reboot' }]);
    expect(k8s.fleet.node(id).bootId).not.toBe(bootBefore);
    expect(run.after.join('\n')).toMatch(
      new RegExp(`${NOTREADY_NODE}: Ready boot ${k8s.fleet.node(id).bootId.slice(0, 8)}`),
    );
    expect(k8s.notifier.messages.at(-1)?.subject).toMatch(/remediate succeeded/);
  });

  it('node-notready-replace: a reboot that does not help → cordoned, drained, and the group launches a new Node', async () => {
    k8s.replacer.calls.length = 0;
    const id = [...k8s.fleet.nodes.values()].find((n) => n.kubernetesNodeName === REPLACED_NODE)!.instanceId;
    const sent: string[] = [];
    k8s.hooks.afterCommand = (r) => sent.push(`${r.documentName}@${r.instanceId}`);
    const run = await runScenario(k8s, 'node-notready-replace');
    expect(run.input).toMatchObject({ node: REPLACED_NODE });
    k8s.hooks.afterCommand = undefined;

    expect(run.result?.status).toBe('SUCCEEDED');
    // cordon and drain ran for real, kubectl on the control-plane node
    expect(sent.filter((s) => /node-(cordon|drain)/.test(s))).toEqual([
      expect.stringMatching(/^node-cordon@i-0c0ffee/),
      expect.stringMatching(/^node-drain@i-0c0ffee/),
    ]);
    expect(k8s.replacer.calls).toEqual([
      `RebootInstances InstanceIds=${id}`,
      `DescribeAutoScalingInstances InstanceIds=${id}`,
      `TerminateInstanceInAutoScalingGroup InstanceId=${id} ShouldDecrementDesiredCapacity=false`,
    ]);
    const [launched] = k8s.replacer.launched;
    expect(launched).toMatchObject({ replaces: id, group: 'caretaker-sandbox-workers' });
    const after = run.after.join('\n');
    expect(after).not.toMatch(new RegExp(`${REPLACED_NODE}:`));
    expect(after).toMatch(new RegExp(`${launched!.node}: Ready`));
    expect(k8s.notifier.messages.at(-1)?.subject).toMatch(/remediate succeeded/);
  });
});
