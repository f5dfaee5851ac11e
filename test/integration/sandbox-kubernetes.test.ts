/**
 * The sandbox with Kubernetes on (what `npm run sandbox` runs): its fleet's nodes are the
 * cluster's Node objects, control-plane nodes keep kubeadm's admin.conf under their root, nodes
 * have kube-apiserver and kubectl on PATH, and a backup holds the cluster's real objects.
 */
import { GetObjectCommand } from '@aws-sdk/client-s3';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ADMIN_CONF, runKubectl } from '../../sandbox/kubernetes';
import { FILLER_NAMESPACE } from '../../sandbox/kubernetes-workload';
import { kubernetesReport } from '../../sandbox/main';
import { Sandbox } from '../../sandbox/sandbox';
import { COMMANDS, planCommand, type CommandName } from '../../functions/shared/domain/commands';
import { parseCommandResult } from '../../functions/shared/domain/command-result';

jest.setTimeout(180_000);

let sandbox: Sandbox;
let pids: number[] = [];

beforeAll(async () => {
  sandbox = await Sandbox.start({ kubernetes: true, keys: 300 });
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

describe('the sandbox with Kubernetes', () => {
  it('has a Ready Node for every fleet node, with its instance id and boot id', async () => {
    const report = await kubernetesReport(sandbox);
    const fleetNodes = sandbox.fleet.kubernetesNodes();

    expect(report?.version).toBe(sandbox.kubernetes!.binaries.version);
    expect(report?.nodes.map((n) => [n.name, n.ready, n.providerID])).toEqual(
      fleetNodes.map((n) => [n.name, true, n.providerID]),
    );
    const bootIds = await sandbox.kubernetes!.kubectl([
      'get',
      'nodes',
      '-o',
      'jsonpath={range .items[*]}{.status.nodeInfo.bootID}{"\\n"}{end}',
    ]);
    expect(bootIds.trim().split('\n').sort()).toEqual(fleetNodes.map((n) => n.bootId).sort());
    // 3 API servers, controller-manager, scheduler, KWOK
    expect(sandbox.kubernetes!.pids).toHaveLength(6);
    expect(pids).toEqual(expect.arrayContaining(sandbox.kubernetes!.pids));
  });

  it("gives control-plane nodes kubeadm's admin.conf under their root, and every node kubectl and kube-apiserver", async () => {
    for (const n of sandbox.fleet.kubernetesNodes()) {
      const conf = join(n.root, ADMIN_CONF);
      expect([n.name, existsSync(conf)]).toEqual([n.name, n.role === 'control-plane']);
      const node = sandbox.fleet.nodes.get(n.instanceId)!;
      expect(node.env.PATH!.split(':')).toContain(sandbox.kubernetes!.binaries.binDir);
      if (n.role === 'control-plane') {
        const out = await runKubectl(sandbox.kubernetes!.binaries.kubectl, conf, [
          'get',
          'nodes',
          '-o',
          'name',
        ]);
        expect(out.trim().split('\n')).toHaveLength(sandbox.fleet.kubernetesNodes().length);
      }
    }
  });

  it('backs up the real cluster: the key counts come from its objects, the filler is ConfigMaps it serves', async () => {
    const result = await sandbox.run('etcd-backup');

    expect(result.status).toBe('SUCCEEDED');
    const { key } = (result.output as { snapshot: { key: string } }).snapshot;
    const object = await sandbox.s3
      .client()
      .send(new GetObjectCommand({ Bucket: sandbox.endpoints().bucket, Key: key.replace(/\.db$/, '.json') }));
    const manifest = JSON.parse(await object.Body!.transformToString()) as {
      keyCounts: Record<string, number>;
    };
    const k8s = sandbox.kubernetes!;
    const count = async (...args: string[]) => (await k8s.getJson<{ items: unknown[] }>(args)).items.length;
    expect(manifest.keyCounts.pods).toBe(await count('pods', '-A'));
    expect(manifest.keyCounts.minions).toBe(await count('nodes'));
    expect(manifest.keyCounts.configmaps).toBe(await count('configmaps', '-A'));
    expect(await count('configmaps', '-n', FILLER_NAMESPACE)).toBe(300 + 1); // and kube-root-ca.crt
  });

  it("runs the node commands with the cluster's own kubeconfig path, and shows a patch's reboot in Kubernetes", async () => {
    const fleet = sandbox.fleet;
    const [cp] = fleet.kubernetesNodes().filter((n) => n.role === 'control-plane');
    const worker = fleet.kubernetesNodes().find((n) => n.role === 'worker')!;
    const run = async (name: CommandName, instanceId: string, args: unknown) => {
      const plan = planCommand(
        name,
        sandbox.cluster,
        { executionId: 'sandbox-test', bucket: 'unused' },
        args,
      );
      const { commandId } = await fleet.send({
        documentName: name,
        instanceId,
        parameters: plan.parameters,
        deliveryTimeoutSeconds: 60,
        comment: 'sandbox test',
      });
      for (;;) {
        const invocation = (await fleet.getInvocation(commandId, instanceId))!;
        if (!['Pending', 'InProgress'].includes(invocation.status)) {
          expect({ name, status: invocation.status, stderr: invocation.stderr }).toMatchObject({
            status: 'Success',
          });
          return COMMANDS[name].result.parse(parseCommandResult(invocation.stdout)) as Record<
            string,
            unknown
          >;
        }
        await new Promise((r) => setTimeout(r, 200));
      }
    };
    expect(sandbox.cluster.kubernetes?.kubeconfig).toBe('/etc/kubernetes/admin.conf');
    fleet.node(worker.instanceId).packages.leaveRebootRequired();

    const patched = await run('os-patch', worker.instanceId, { scope: 'security', reboot: 'if-required' });
    await sandbox.rebootsInKubernetes!.settle();
    let status = await run('node-status', cp!.instanceId, { node: worker.name });
    for (let i = 0; i < 40 && !status.ready; i++) {
      await new Promise((r) => setTimeout(r, 250));
      status = await run('node-status', cp!.instanceId, { node: worker.name });
    }

    expect(patched).toMatchObject({
      manager: 'apt',
      packages: 2,
      rebooted: true,
      changed: ['openssl', 'linux-image-amd64'],
    });
    expect(patched.bootIdAfter).toBe(fleet.node(worker.instanceId).bootId);
    expect(status).toMatchObject({
      exists: true,
      ready: true,
      bootID: patched.bootIdAfter,
      daemonSetPodsReady: true,
    });
    expect(sandbox.rebootsInKubernetes!.errors).toEqual([]);
  });
});
