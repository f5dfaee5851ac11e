/**
 * patch-workers end to end in the sandbox: the real ASL, the real handlers, the node commands'
 * real scripts run by the LocalFleet against a real kube-apiserver (KWOK kubelets), the
 * package-manager stand-in on each worker.
 *
 * The dry run, then a real run (drain past the PodDisruptionBudget, patch, health gate, uncordon,
 * annotate; the sandbox's packages need no reboot) and a second run that skips both workers as patched recently. The order
 * matters: each run starts from the cluster the one before left.
 */
import { Sandbox } from '../../sandbox/sandbox';

jest.setTimeout(900_000);

let sandbox: Sandbox;
let pids: number[] = [];

beforeAll(async () => {
  sandbox = await Sandbox.start({ kubernetes: true, keys: 300, workers: 2 });
  pids = sandbox.pids;
});

afterAll(async () => {
  await sandbox?.stop();
  const alive = pids.filter((pid) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  expect(alive).toEqual([]);
});

interface NodeJson {
  metadata: { name: string; resourceVersion: string; annotations?: Record<string, string> };
  spec: { unschedulable?: boolean; providerID?: string };
  status: { nodeInfo: { bootID: string } };
}

async function nodes(): Promise<NodeJson[]> {
  const out = await sandbox.kubernetes!.kubectl(['get', 'nodes', '-o', 'json']);
  return (JSON.parse(out) as { items: NodeJson[] }).items;
}

const workers = () => sandbox.fleet.kubernetesNodes().filter((n) => n.role === 'worker');

describe('patch-workers in the sandbox', () => {
  it('dry run: plans on the real API server and changes nothing (resourceVersions unchanged)', async () => {
    const before = await nodes();

    const result = await sandbox.run('patch-workers', undefined, { dryRun: true, now: true });

    expect(result.status).toBe('SUCCEEDED');
    const after = await nodes();
    expect(after.map((n) => [n.metadata.name, n.metadata.resourceVersion])).toEqual(
      before.map((n) => [n.metadata.name, n.metadata.resourceVersion]),
    );
    for (const w of workers()) expect(sandbox.fleet.node(w.instanceId).packages.invocations()).toEqual([]);
    const message = sandbox.notifier.messages.at(-1)!.message;
    expect(message).toContain('Dry run: nothing was changed. 2 of 2 worker(s) would be patched');
  });

  it('patches both workers: cordon, drain, the package install, health gate, uncordon, annotation', async () => {
    const result = await sandbox.run('patch-workers', undefined, { now: true });

    const output = result.output as {
      finish: {
        outcome: string;
        patched: { first: string[]; more: number };
        failed: { first: string[]; more: number };
        leftCordoned: unknown[];
        planned: number;
      };
    };
    expect({ status: result.status, error: result.error }).toEqual({ status: 'SUCCEEDED', error: undefined });
    expect(output.finish.outcome).toBe('Succeeded');
    expect(output.finish.planned).toBe(2);
    expect([...output.finish.patched.first].sort()).toEqual(['worker-1', 'worker-2']);
    expect(output.finish.failed).toEqual({ first: [], more: 0 });
    expect(output.finish.leftCordoned).toEqual([]);

    // each node was cordoned, then uncordoned by this run after its health gate
    const cordons = result.calls.filter(
      (c) => c.target === 'send-command' && (c.input as { command?: string }).command === 'node-cordon',
    );
    for (const w of workers()) {
      const actions = cordons
        .map((c) => c.input as { state: string; args: { node: string; action: string } })
        .filter((i) => i.args.node === w.name)
        .map((i) => [i.state, i.args.action]);
      expect(actions).toEqual([
        ['Cordon the node', 'cordon'],
        ['Uncordon the node', 'uncordon'],
      ]);
    }

    // the package stand-in recorded the upgrade on each worker
    for (const w of workers()) {
      const installs = sandbox.fleet
        .node(w.instanceId)
        .packages.invocations()
        .filter((i) => i.tool === 'apt-get' && i.args.includes('install'));
      expect(installs).toHaveLength(1);
      expect(installs[0]!.args).toEqual(expect.arrayContaining(['-y', 'install', '--only-upgrade']));
    }

    // every Node schedulable again, annotated with the patch, none left with the cordon owner
    const after = await nodes();
    for (const w of workers()) {
      const node = after.find((n) => n.metadata.name === w.name)!;
      expect(node.spec.unschedulable ?? false).toBe(false);
      const patchedAt = node.metadata.annotations?.['caretaker.io/patched-at'];
      expect(patchedAt).toBeDefined();
      expect(Number.isNaN(Date.parse(patchedAt!))).toBe(false);
      expect(node.metadata.annotations?.['caretaker.io/cordoned-by']).toBeUndefined();
    }
    expect(after.filter((n) => n.spec.unschedulable)).toEqual([]);
  });

  it('a second run skips both workers as patched recently and changes nothing', async () => {
    const before = await nodes();
    const installsBefore = workers().map(
      (w) => sandbox.fleet.node(w.instanceId).packages.invocations().length,
    );

    const result = await sandbox.run('patch-workers', undefined, { now: true });

    expect(result.status).toBe('SUCCEEDED');
    const output = result.output as {
      plan: { toPatch: number };
      finish: { outcome: string; skipped: number };
    };
    expect(output.plan.toPatch).toBe(0);
    expect(output.finish.skipped).toBe(2);
    expect(result.iterationStates).toEqual([]);
    expect(workers().map((w) => sandbox.fleet.node(w.instanceId).packages.invocations().length)).toEqual(
      installsBefore,
    );
    const after = await nodes();
    expect(
      after.map((n) => [n.metadata.name, n.metadata.resourceVersion, n.spec.unschedulable ?? false]),
    ).toEqual(before.map((n) => [n.metadata.name, n.metadata.resourceVersion, false]));
  });

  it('a worker back from a reboot is Ready with its new boot id and its pods Ready again, as a kubelet makes them', async () => {
    const w = workers()[0]!;
    const bootBefore = (await nodes()).find((n) => n.metadata.name === w.name)!.status.nodeInfo.bootID;

    await sandbox.fleet.reboot(w.instanceId);
    await sandbox.rebootsInKubernetes!.settle();

    expect(sandbox.rebootsInKubernetes!.errors).toEqual([]);
    const node = (await nodes()).find((n) => n.metadata.name === w.name)!;
    expect(node.status.nodeInfo.bootID).not.toBe(bootBefore);
    expect(node.status.nodeInfo.bootID).toBe(sandbox.fleet.node(w.instanceId).bootId);
    const pods = JSON.parse(
      await sandbox.kubernetes!.kubectl([
        'get',
        'pods',
        '--all-namespaces',
        `--field-selector=spec.nodeName=${w.name}`,
        '-o',
        'json',
      ]),
    ) as {
      items: { metadata: { name: string }; status: { conditions?: { type: string; status: string }[] } }[];
    };
    const ready = pods.items.map((p) => [
      p.metadata.name.replace(/-[a-z0-9]+$/, ''),
      p.status.conditions?.find((c) => c.type === 'Ready')?.status,
    ]);
    expect(ready).toContainEqual(['node-exporter', 'True']);
    expect(ready.filter(([, status]) => status !== 'True')).toEqual([]);
  });
});
