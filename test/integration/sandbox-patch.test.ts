/**
 * patch-workers end to end in the sandbox: the real ASL, the real handlers, the node commands'
 * real scripts run by the LocalFleet against a real kube-apiserver (KWOK kubelets), the
 * package-manager stand-in on each worker, reboots the Nodes show with a new boot id.
 */
import { Sandbox } from '../../sandbox/sandbox';

jest.setTimeout(300_000);

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

  it('patches every worker: cordon, drain, patch, reboot where required, back Ready with a new boot id, uncordon, record', async () => {
    const [first, second] = workers();
    sandbox.fleet.node(first!.instanceId).packages.leaveRebootRequired(true);
    const before = new Map((await nodes()).map((n) => [n.metadata.name, n.status.nodeInfo.bootID]));

    const result = await sandbox.run('patch-workers', undefined, { now: true });

    expect(result.status).toBe('SUCCEEDED');
    const outcome = sandbox.notifier.messages.at(-1)!;
    expect(outcome.attributes['outcome']).toBe('Succeeded');
    expect(outcome.message).toContain('No node Caretaker cordoned is left cordoned.');
    const after = new Map((await nodes()).map((n) => [n.metadata.name, n]));
    for (const w of [first!, second!]) {
      const node = after.get(w.name)!;
      expect(node.spec.unschedulable).toBeFalsy();
      expect(node.metadata.annotations?.['caretaker.io/patched-at']).toMatch(/^\d{4}-\d\d-\d\dT/);
      expect(node.metadata.annotations?.['caretaker.io/patch-summary']).toMatch(
        /^manager=apt,packages=\d+,rebooted=/,
      );
      expect(node.metadata.annotations?.['caretaker.io/cordoned-by']).toBeUndefined();
      expect(sandbox.fleet.node(w.instanceId).packages.installed()).toEqual(
        expect.arrayContaining(['openssl', 'linux-image-amd64']),
      );
      expect(sandbox.tagger.tags.get(w.instanceId)).toMatchObject({
        'caretaker:patch-summary': expect.any(String),
      });
    }
    // the worker with a reboot-required sentinel rebooted: the Node reports a new boot id
    expect(after.get(first!.name)!.status.nodeInfo.bootID).not.toBe(before.get(first!.name));
    expect(after.get(first!.name)!.metadata.annotations?.['caretaker.io/patch-summary']).toContain(
      'rebooted=true',
    );
    expect(after.get(second!.name)!.status.nodeInfo.bootID).toBe(before.get(second!.name));
    // the commands ran on the nodes they should: kubectl ones on a control-plane node, os-patch on the worker
    const commands = sandbox.fleet.commands.map((c) => `${c.documentName}@${c.instanceId}`);
    expect(commands).toEqual(
      expect.arrayContaining([`os-patch@${first!.instanceId}`, `os-patch@${second!.instanceId}`]),
    );
  });

  it('the next run skips the nodes it patched (patched-at is recent) and changes nothing', async () => {
    const result = await sandbox.run('patch-workers', undefined, { now: true });

    expect(result.status).toBe('SUCCEEDED');
    const message = sandbox.notifier.messages.at(-1)!.message;
    expect(message).toContain('Planned 0, skipped 2');
  });
});
