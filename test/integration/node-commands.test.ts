/**
 * The node commands on a real control plane: the documents' scripts run through the LocalFleet
 * (as the SSM agent runs them, reboots included) with the real kubectl against the real API
 * server of test/support/kubernetes-cluster.ts and its seeded workload; the package managers are
 * the recording stand-in. One cluster for the whole file; the tests run in order and each leaves
 * the cluster as the next one expects it (every node uncordoned).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { COMMANDS, planCommand, type CommandName } from '../../functions/shared/domain/commands';
import { CORDONED_BY_ANNOTATION } from '../../functions/shared/domain/commands/kubernetes-access';
import { inventoryList } from '../../functions/shared/domain/commands/node-inventory';
import { parseCommandResult } from '../../functions/shared/domain/command-result';
import { parseConfig } from '../../functions/shared/domain/config';
import { WORKLOAD } from '../../sandbox/kubernetes-workload';
import {
  followReboots,
  LocalFleet,
  PACKAGE_STAND_IN_DIR,
  type CommandRecord,
  type FollowedReboots,
} from '../../sandbox/local-fleet';
import { getText, startTestCluster, TEST_CLUSTER, type TestCluster } from '../support/kubernetes-cluster';

jest.setTimeout(240_000);

const [cluster] = parseConfig({
  clusters: [{ name: TEST_CLUSTER, kind: 'kubeadm', region: 'eu-west-1' }],
}).clusters;
const OWNER = 'patch-workers-prod-eu-20261130T130500Z';
const OTHER = 'patch-workers-prod-eu-20261123T130500Z';

let t: TestCluster;
let fleet: LocalFleet;
let reboots: FollowedReboots;
const ended = new Map<string, (record: CommandRecord) => void>();

const id = (name: string) => t.nodes.find((n) => n.name === name)!.instanceId;
const CP = () => id('control-plane-1');

interface NodeJson {
  metadata: { name: string; annotations?: Record<string, string> };
  spec: { unschedulable?: boolean };
  status: {
    conditions: { type: string; status: string; lastTransitionTime: string }[];
    nodeInfo: { bootID: string };
  };
}
interface PodJson {
  metadata: { namespace: string; name: string; ownerReferences?: { kind: string }[] };
}

beforeAll(async () => {
  t = await startTestCluster('node-commands');
  const path = `${PACKAGE_STAND_IN_DIR}:${t.k8s.binaries.binDir}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  fleet = new LocalFleet({
    dir: join(t.root, 'fleet'),
    rebootMs: 500,
    nodes: t.nodes.map((n) => {
      const work = join(t.root, 'work', n.name);
      mkdirSync(work, { recursive: true });
      return {
        instanceId: n.instanceId,
        name: n.name,
        role: n.role,
        tags: { 'caretaker:cluster': TEST_CLUSTER, 'caretaker:role': n.role },
        env: {
          ...t.s3.cliEnv,
          CARETAKER_AWS_CLI: '/usr/bin/aws',
          CARETAKER_NODE_ROOT: n.root,
          CARETAKER_WORK_DIR: work,
          PATH: path,
        },
      };
    }),
    afterCommand: (record) => ended.get(record.commandId)?.(record),
  });
  reboots = followReboots(fleet, t.k8s);
}, 300_000);

afterAll(async () => {
  await fleet?.settle();
  await reboots?.settle();
  reboots?.stop();
  await t?.stop();
});

/** sends the command as send-command plans it and waits for its invocation to end */
async function run(name: CommandName, instanceId: string, args: unknown): Promise<CommandRecord> {
  const plan = planCommand(name, cluster!, { executionId: OWNER, bucket: t.s3.bucket }, args);
  let done!: (record: CommandRecord) => void;
  const finished = new Promise<CommandRecord>((resolve) => (done = resolve));
  const { commandId } = await fleet.send({
    documentName: name,
    instanceId,
    parameters: plan.parameters,
    deliveryTimeoutSeconds: 60,
    comment: `test ${name}`,
  });
  ended.set(commandId, done);
  // it may have ended before the map knew it
  const record = fleet.commands.find((c) => c.commandId === commandId)!;
  if (record.endedAt !== undefined) return record;
  return finished;
}

/** runs it and parses its CARETAKER_RESULT with the command's own result schema */
async function result<N extends CommandName>(
  name: N,
  instanceId: string,
  args: unknown,
): Promise<ReturnType<(typeof COMMANDS)[N]['result']['parse']>> {
  const record = await run(name, instanceId, args);
  if (record.invocation.status !== 'Success') {
    throw new Error(
      `${name} ${record.invocation.status} (exit ${record.invocation.exitCode}):\n${record.invocation.stderr}`,
    );
  }
  return COMMANDS[name].result.parse(parseCommandResult(record.invocation.stdout)) as never;
}

const getNode = (name: string) => t.k8s.getJson<NodeJson>(['node', name]);
const podsOn = async (name: string) =>
  (await t.k8s.getJson<{ items: PodJson[] }>(['pods', '-A', `--field-selector=spec.nodeName=${name}`])).items;
const isDaemonSetPod = (p: PodJson) =>
  p.metadata.ownerReferences?.some((o) => o.kind === 'DaemonSet') ?? false;

async function until<T>(what: string, check: () => Promise<T | undefined>, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`no ${what} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

describe('node-inventory', () => {
  it('uploads one compact entry per Node, joined to instances by providerID, with the pods that hold each', async () => {
    const key = `${TEST_CLUSTER}/patch/node-commands/inventory.json`;

    const out = await result('node-inventory', CP(), {
      key,
      podSelector: `app=${WORKLOAD.noDisruption.deployment}`,
    });

    // the API server's own /version: what a kubelet upgrade may not go past
    expect(out).toEqual({ key, nodes: 5, apiServerVersion: t.k8s.version });
    const entries = inventoryList.parse(JSON.parse(await getText(t, key)));
    expect(entries.map((e) => e.name).sort()).toEqual(t.nodes.map((n) => n.name).sort());
    const worker = entries.find((e) => e.name === 'worker-1')!;
    expect(worker).toMatchObject({
      instanceId: id('worker-1'),
      availabilityZone: 'eu-west-1a',
      providerID: `aws:///eu-west-1a/${id('worker-1')}`,
      unschedulable: false,
      ready: true,
      annotations: {},
      kubeletVersion: t.k8s.version,
    });
    expect(worker.bootID).toBe((await getNode('worker-1')).status.nodeInfo.bootID);
    expect(worker.heldByPods).toEqual([expect.stringMatching(/^payments\/payments-api-/)]);
    expect(entries.find((e) => e.name === 'control-plane-1')!.heldByPods).toEqual([]);
  });

  it('fails on a worker, which has no admin kubeconfig, saying so', async () => {
    const record = await run('node-inventory', id('worker-1'), { key: `${TEST_CLUSTER}/x.json` });

    expect(record.invocation).toMatchObject({ status: 'Failed', exitCode: 1 });
    expect(record.invocation.stderr).toMatch(
      /parameter Kubeconfig: \/etc\/kubernetes\/admin\.conf is not a readable file on this node/,
    );
  });
});

describe('node-cordon', () => {
  const cordon = (owner: string, action: 'cordon' | 'uncordon' = 'cordon') =>
    result('node-cordon', CP(), { node: 'worker-2', action, owner });

  it("cordons with Caretaker's mark, and only its owner uncordons", async () => {
    expect(await cordon(OWNER)).toEqual({
      node: 'worker-2',
      unschedulable: true,
      cordonedBy: OWNER,
      changed: true,
    });
    const node = await getNode('worker-2');
    expect(node.spec.unschedulable).toBe(true);
    expect(node.metadata.annotations?.[CORDONED_BY_ANNOTATION]).toBe(OWNER);

    expect(await cordon(OWNER)).toMatchObject({ changed: false, cordonedBy: OWNER });
    expect(await cordon(OTHER)).toMatchObject({
      changed: false,
      cordonedBy: OWNER,
      reason: `cordoned by ${OWNER}`,
    });
    expect(await cordon(OTHER, 'uncordon')).toMatchObject({
      changed: false,
      unschedulable: true,
      cordonedBy: OWNER,
    });

    expect(await cordon(OWNER, 'uncordon')).toEqual({
      node: 'worker-2',
      unschedulable: false,
      changed: true,
    });
    const after = await getNode('worker-2');
    expect(after.spec.unschedulable).toBeUndefined();
    expect(after.metadata.annotations?.[CORDONED_BY_ANNOTATION]).toBeUndefined();
  });

  it('leaves a node someone else cordoned as it is, and reports it', async () => {
    await t.k8s.kubectl(['cordon', 'worker-2']);
    try {
      const cordoned = await cordon(OWNER);
      const uncordoned = await cordon(OWNER, 'uncordon');

      expect(cordoned).toMatchObject({
        changed: false,
        unschedulable: true,
        reason: expect.stringMatching(/someone else/),
      });
      expect(cordoned.cordonedBy).toBeUndefined();
      expect(uncordoned).toMatchObject({ changed: false, unschedulable: true });
      const node = await getNode('worker-2');
      expect(node.spec.unschedulable).toBe(true);
      expect(node.metadata.annotations?.[CORDONED_BY_ANNOTATION]).toBeUndefined();
    } finally {
      await t.k8s.kubectl(['uncordon', 'worker-2']);
    }
  });
});

describe('node-drain', () => {
  const drain = (node: string, options: Record<string, unknown> = {}) =>
    result('node-drain', CP(), {
      node,
      timeoutSeconds: 8,
      gracePeriodSeconds: -1,
      deleteEmptyDirData: false,
      disableEviction: false,
      ...options,
    });

  it('refuses a node that is not cordoned: a drain must not leave an unmarked cordon', async () => {
    const record = await run('node-drain', CP(), {
      node: 'worker-2',
      timeoutSeconds: 8,
      gracePeriodSeconds: -1,
      deleteEmptyDirData: false,
      disableEviction: false,
    });

    expect(record.invocation.status).toBe('Failed');
    expect(record.invocation.stderr).toMatch(
      /Node worker-2 is not cordoned: cordon it with node-cordon first/,
    );
    expect((await getNode('worker-2')).spec.unschedulable).toBeUndefined();
  });

  it('reports a drain a PodDisruptionBudget blocks past the timeout as not drained, naming the pod; without eviction it drains', async () => {
    await result('node-cordon', CP(), { node: 'worker-2', action: 'cordon', owner: OWNER });
    try {
      const blocked = await drain('worker-2');

      expect(blocked.drained).toBe(false);
      expect(blocked.blockedBy).toEqual([
        {
          pod: expect.stringMatching(/^payments\/payments-api-/),
          reason: 'PodDisruptionBudget: evicting it would violate its disruption budget',
        },
      ]);
      expect(blocked.evicted.every((p) => !p.startsWith('monitoring/'))).toBe(true);
      const left = await podsOn('worker-2');
      expect(left.filter((p) => !isDaemonSetPod(p)).map((p) => p.metadata.namespace)).toEqual(['payments']);

      const forced = await drain('worker-2', { disableEviction: true });

      expect(forced).toMatchObject({ drained: true, blockedBy: [] });
      expect(forced.evicted).toEqual([blocked.blockedBy[0]!.pod]);
      // DaemonSet pods stay: --ignore-daemonsets
      const remaining = await podsOn('worker-2');
      expect(remaining.map((p) => `${p.metadata.namespace}/${isDaemonSetPod(p)}`)).toEqual([
        'monitoring/true',
      ]);
    } finally {
      await result('node-cordon', CP(), { node: 'worker-2', action: 'uncordon', owner: OWNER });
    }
  });

  it('keeps an emptyDir pod and a pod with no controller until told it may delete them', async () => {
    await result('node-cordon', CP(), { node: 'worker-1', action: 'cordon', owner: OWNER });
    try {
      const refused = await drain('worker-1');

      expect(refused.drained).toBe(false);
      expect(refused.evicted).toEqual([]);
      const reasons = Object.fromEntries(
        refused.blockedBy.map((b) => [b.pod.replace(/-[a-z0-9]+-[a-z0-9]+$/, ''), b.reason]),
      );
      expect(reasons['shop/cart-cache']).toBe('uses emptyDir data (deleteEmptyDirData allows losing it)');
      expect(reasons['ops/toolbox']).toBe(
        'not managed by a controller (kubectl drain --force deletes it for good)',
      );

      const drained = await drain('worker-1', {
        deleteEmptyDirData: true,
        force: true,
        disableEviction: true,
      });

      expect(drained).toMatchObject({ drained: true, blockedBy: [] });
      expect(drained.evicted).toEqual(
        expect.arrayContaining([
          'ops/toolbox',
          expect.stringMatching(/^shop\/cart-cache-/),
          expect.stringMatching(/^payments\/payments-api-/),
        ]),
      );
      expect((await podsOn('worker-1')).every(isDaemonSetPod)).toBe(true);
    } finally {
      await result('node-cordon', CP(), { node: 'worker-1', action: 'uncordon', owner: OWNER });
    }
  });
});

describe('node-record and node-status', () => {
  it('records a patch as caretaker.io annotations', async () => {
    const patchedAt = '2026-11-30T13:05:00.000Z';

    const out = await result('node-record', CP(), {
      node: 'worker-1',
      patchedAt,
      packages: 2,
      summary: 'apt:openssl,linux-image-amd64',
      owner: OWNER,
    });

    expect(out).toEqual({ node: 'worker-1', patchedAt });
    expect((await getNode('worker-1')).metadata.annotations).toMatchObject({
      'caretaker.io/patched-at': patchedAt,
      'caretaker.io/patched-by': OWNER,
      'caretaker.io/patch-summary': 'packages=2,apt:openssl,linux-image-amd64',
    });
    // a summary that carries the count already is written as it is
    await result('node-record', CP(), {
      node: 'worker-2',
      patchedAt,
      packages: 12,
      summary: 'manager=apt,packages=12,rebooted=true',
      owner: OWNER,
    });
    expect((await getNode('worker-2')).metadata.annotations?.['caretaker.io/patch-summary']).toBe(
      'manager=apt,packages=12,rebooted=true',
    );
  });

  it('says a Node that does not exist does not', async () => {
    expect(await result('node-status', CP(), { node: 'worker-9' })).toMatchObject({
      node: 'worker-9',
      exists: false,
      ready: false,
    });
  });

  it('sees a reboot of the fleet: NotReady while down, Ready again with the new boot id', async () => {
    const worker = id('worker-1');
    const before = await result('node-status', CP(), { node: 'worker-1' });
    expect(before).toMatchObject({
      exists: true,
      ready: true,
      unschedulable: false,
      daemonSetPodsReady: true,
      daemonSetPodsNotReady: [],
    });
    const rebootedAt = new Date();

    const back = fleet.reboot(worker);
    const down = await until('worker-1 NotReady', async () => {
      const node = await getNode('worker-1');
      const ready = node.status.conditions.find((c) => c.type === 'Ready');
      return ready?.status === 'Unknown' ? ready : undefined;
    });
    await back;
    const bootId = fleet.node(worker).bootId;
    const after = await until('worker-1 Ready with its new boot id', async () => {
      const status = await result('node-status', CP(), { node: 'worker-1' });
      return status.ready && status.bootID === bootId ? status : undefined;
    });

    expect(down.status).toBe('Unknown');
    expect(bootId).not.toBe(before.bootID);
    expect(new Date(after.readySince!).getTime()).toBeGreaterThanOrEqual(
      Math.floor(rebootedAt.getTime() / 1000) * 1000,
    );
    expect(after).toMatchObject({ daemonSetPodsReady: true, kubeletVersion: t.k8s.version });
    expect(reboots.errors).toEqual([]);
  });
});

describe('os-patch', () => {
  it('patches a Debian worker with apt, security only, reboots it as the node asks and reports after the reboot', async () => {
    const worker = id('worker-2');
    const packages = fleet.node(worker).packages.setFlavor('debian');
    packages.offer([
      { name: 'openssl', version: '3.0.15-1~deb12u1' },
      { name: 'curl', security: false },
      { name: 'linux-image-amd64', version: '6.1.119-1' },
    ]);
    packages.leaveRebootRequired();
    const bootBefore = fleet.node(worker).bootId;

    const record = await run('os-patch', worker, { scope: 'security', reboot: 'if-required' });

    expect(record.invocation.status).toBe('Success');
    expect(record.runs.map((r) => r.exitCode)).toEqual([194, 0]);
    const out = COMMANDS['os-patch'].result.parse(parseCommandResult(record.invocation.stdout));
    expect(out).toEqual({
      manager: 'apt',
      packages: 2,
      changed: ['openssl', 'linux-image-amd64'],
      rebootRequired: true,
      rebooted: true,
      bootIdBefore: bootBefore,
      bootIdAfter: fleet.node(worker).bootId,
    });
    expect(out.bootIdAfter).not.toBe(bootBefore);
    expect(packages.invocations()).toEqual([
      { tool: 'apt-get', args: ['-o', 'DPkg::Lock::Timeout=300', 'update', '-q'] },
      { tool: 'apt-get', args: ['-o', 'DPkg::Lock::Timeout=300', '-s', '-q', 'dist-upgrade'] },
      {
        tool: 'apt-get',
        args: [
          '-o',
          'DPkg::Lock::Timeout=300',
          '-y',
          '-q',
          '-o',
          'Dpkg::Options::=--force-confdef',
          '-o',
          'Dpkg::Options::=--force-confold',
          'install',
          '--only-upgrade',
          'openssl',
          'linux-image-amd64',
        ],
      },
    ]);
    // the reboot took /var/run/reboot-required with it
    expect(packages.rebootRequiredSentinel).toBe(false);
    await until('worker-2 Ready with its new boot id', async () => {
      const status = await result('node-status', CP(), { node: 'worker-2' });
      return status.ready && status.bootID === out.bootIdAfter ? true : undefined;
    });
  });

  it('patches a RHEL-family worker with dnf, everything, and only reports the reboot when the policy is never', async () => {
    const worker = id('worker-1');
    const packages = fleet.node(worker).packages.setFlavor('rhel');
    packages.offer([{ name: 'kernel' }, { name: 'vim-enhanced', security: false }]);
    packages.leaveRebootRequired();
    const rebootsBefore = fleet.reboots.length;

    const out = await result('os-patch', worker, { scope: 'all', reboot: 'never' });

    expect(out).toMatchObject({
      manager: 'dnf',
      packages: 2,
      changed: ['kernel', 'vim-enhanced'],
      rebootRequired: true,
      rebooted: false,
    });
    expect(out.bootIdAfter).toBe(out.bootIdBefore);
    expect(fleet.reboots).toHaveLength(rebootsBefore);
    expect(packages.invocations().slice(-3)).toEqual([
      { tool: 'dnf', args: ['-q', 'check-update'] },
      { tool: 'dnf', args: ['-y', '-q', 'upgrade'] },
      { tool: 'needs-restarting', args: ['-r'] },
    ]);
  });

  it('patches a SUSE worker with zypper security patches, rebooting when zypper needs-rebooting says so', async () => {
    const worker = id('worker-2');
    const packages = fleet.node(worker).packages.setFlavor('suse');
    packages.offer([
      { name: 'SUSE-SLE-Module-Basesystem-15-SP6-2026-4211' },
      { name: 'vim', security: false },
    ]);
    packages.leaveRebootRequired();
    const bootBefore = fleet.node(worker).bootId;
    const seen = packages.invocations().length;

    const out = await result('os-patch', worker, { scope: 'security', reboot: 'if-required' });

    expect(out).toEqual({
      manager: 'zypper',
      packages: 1,
      changed: ['SUSE-SLE-Module-Basesystem-15-SP6-2026-4211'],
      rebootRequired: true,
      rebooted: true,
      bootIdBefore: bootBefore,
      bootIdAfter: fleet.node(worker).bootId,
    });
    expect(packages.invocations().slice(seen)).toEqual([
      { tool: 'zypper', args: ['--non-interactive', '--quiet', 'list-patches', '--category', 'security'] },
      { tool: 'zypper', args: ['--non-interactive', 'patch', '--category', 'security'] },
      { tool: 'zypper', args: ['--non-interactive', 'needs-rebooting'] },
    ]);
  });

  it("fails a patch that breaks halfway with the package manager's reason, and does not reboot", async () => {
    const worker = id('worker-1');
    const packages = fleet.node(worker).packages.setFlavor('rhel');
    packages.offer([{ name: 'glibc' }, { name: 'systemd' }, { name: 'openssh' }]);
    packages.leaveRebootRequired(false);
    packages.failAfter(1);
    const rebootsBefore = fleet.reboots.length;

    const record = await run('os-patch', worker, { scope: 'security', reboot: 'always' });

    expect(record.invocation).toMatchObject({ status: 'Failed', exitCode: 1 });
    expect(record.invocation.stderr).toMatch(
      /os-patch: error: dnf upgrade failed \(dnf, exit 1\): Error: Transaction failed: systemd; the node may be partly patched/,
    );
    expect(packages.installed()).toEqual(['kernel', 'vim-enhanced', 'glibc']);
    expect(fleet.reboots).toHaveLength(rebootsBefore);
    packages.failAfter(undefined);
  });
});

describe('after all of it', () => {
  it('leaves no node cordoned, and the inventory shows the recorded patch', async () => {
    const key = `${TEST_CLUSTER}/patch/node-commands/after.json`;
    await result('node-inventory', CP(), { key });

    const entries = inventoryList.parse(JSON.parse(await getText(t, key)));
    expect(entries.filter((e) => e.unschedulable)).toEqual([]);
    expect(entries.find((e) => e.name === 'worker-1')!.annotations).toMatchObject({
      'caretaker.io/patched-at': '2026-11-30T13:05:00.000Z',
      'caretaker.io/patched-by': OWNER,
    });
  });
});
