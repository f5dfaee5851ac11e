import { planPatchRun } from '../../../functions/plan-patch/service';
import { preparePatch, UNWINDOWED_RUN_HOURS } from '../../../functions/prepare-patch/service';
import { parseConfig } from '../../../functions/shared/domain/config';
import {
  checkKubeletTarget,
  kubeletAtOrPast,
  parseRelease,
} from '../../../functions/shared/domain/kubernetes-version';
import { planPatch, type InventoryNode } from '../../../functions/shared/domain/patching/plan';
import { NotForThisKindError, PreflightRefusedError } from '../../../functions/shared/errors';
import { PATCHING_DEFAULTS } from '../../../functions/shared/workflows/patch-workers';
import { fixedClock, memoryStore, staticDirectory, staticInventory } from '../../support/fakes';

const NOW = new Date('2026-11-29T02:30:00Z');
const RUN = 'patch-workers-prod-eu-20261129T020000Z';
const PARENT = 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-upgrade-control-plane:up-1';

function node(name: string, kubeletVersion: string, over: Partial<InventoryNode> = {}): InventoryNode {
  const id = `i-${Buffer.from(name).toString('hex').slice(0, 12).padEnd(12, '0')}`;
  return {
    name,
    providerID: `aws:///eu-west-1a/${id}`,
    labels: {},
    annotations: {},
    unschedulable: false,
    ready: true,
    kubeletVersion,
    bootID: `boot-${name}`,
    heldByPods: [],
    ...over,
  };
}
const workersOf = (nodes: InventoryNode[]) =>
  nodes.map((n) => ({
    instanceId: /(i-[0-9a-f]+)$/.exec(n.providerID)![1]!,
    availabilityZone: 'eu-west-1a',
  }));

describe('checkKubeletTarget', () => {
  it('allows a target at or below the API server', () => {
    expect(checkKubeletTarget('v1.37.2', 'v1.37.2')).toEqual([]);
    expect(checkKubeletTarget('v1.36.9', 'v1.37.2+k3s1')).toEqual([]);
  });

  it('rejects a target newer than the API server, naming both', () => {
    expect(checkKubeletTarget('v1.37.2', 'v1.36.4')).toEqual([
      'kubernetesVersion v1.37.2 is newer than the API server (v1.36.4): a kubelet may not be newer than kube-apiserver; upgrade the control plane first (caretaker upgrade)',
    ]);
    expect(checkKubeletTarget('v1.37.3', 'v1.37.2')[0]).toContain('newer than the API server');
  });

  it('rejects an unreadable API server version, a malformed target and another major', () => {
    expect(checkKubeletTarget('v1.37.2', '')[0]).toContain("the API server's version could not be read");
    expect(checkKubeletTarget('1.37', 'v1.37.2')[0]).toContain(
      'kubernetesVersion: "1.37" is not a Kubernetes release',
    );
    expect(checkKubeletTarget('v2.0.0', 'v1.37.2')[0]).toContain('another major version');
  });

  it('says whether a kubelet already runs the target or newer', () => {
    const t = parseRelease('v1.37.2')!;
    expect(kubeletAtOrPast('v1.37.2', t)).toBe(true);
    expect(kubeletAtOrPast('v1.38.0-eks-1', t)).toBe(true);
    expect(kubeletAtOrPast('v1.37.1', t)).toBe(false);
    expect(kubeletAtOrPast('garbage', t)).toBe(false);
    expect(kubeletAtOrPast(undefined, t)).toBe(false);
  });
});

describe('planPatch with kubernetesVersion', () => {
  it('skips nodes at the target or newer as at-version, and ignores patchedWithinDays', () => {
    const nodes = [
      node('old', 'v1.36.4', { annotations: { 'caretaker.io/patched-at': '2026-11-28T02:00:00Z' } }),
      node('at', 'v1.37.2'),
      node('newer', 'v1.37.3'),
    ];
    const plan = planPatch({
      workers: workersOf(nodes),
      nodes,
      settings: { ...PATCHING_DEFAULTS },
      now: NOW,
      owner: RUN,
      kubernetesVersion: 'v1.37.2',
    });
    expect(plan.items.map((i) => i.node)).toEqual(['old']);
    expect(plan.skipped.map((s) => [s.node, s.reason])).toEqual([
      ['at', 'at-version'],
      ['newer', 'at-version'],
    ]);
    expect(plan.skipped[0]!.detail).toBe('its kubelet reports v1.37.2, already v1.37.2 or newer');
  });
});

const [kubeadm, kops] = parseConfig({
  clusters: [
    {
      name: 'prod-eu',
      kind: 'kubeadm',
      region: 'eu-west-1',
      patching: {},
      upgrade: { packageManager: 'dnf' },
    },
    {
      name: 'kops-eu',
      kind: 'kops',
      region: 'eu-west-1',
      kops: { stateStore: 's3://kops-state/kops-eu.example.com' },
    },
  ],
}).clusters;
const deps = (now = '2026-11-29T02:30:00Z') => ({
  clusters: staticDirectory([kubeadm!, kops!]),
  inventory: staticInventory([{ instanceId: 'i-0c0c0c0c0c0c0c0c1' }]),
  clock: fixedClock(now),
});

describe('prepare-patch with kubernetesVersion', () => {
  it('makes kubelet-upgrade the change, with the version and the package manager', async () => {
    const out = await preparePatch(
      { cluster: 'prod-eu', executionName: RUN, kubernetesVersion: 'v1.37.2' },
      deps(),
    );
    expect(out.settings).toMatchObject({
      command: 'kubelet-upgrade',
      kubernetesVersion: 'v1.37.2',
      packageManager: 'dnf',
    });
    expect(out.window).toMatchObject({ open: true, ignored: false });
  });

  it('an OS patch run has no kubernetesVersion', async () => {
    const out = await preparePatch({ cluster: 'prod-eu', executionName: RUN }, deps());
    expect(out.settings).toMatchObject({ command: 'os-patch', kubernetesVersion: null });
  });

  it('under a parent ignores the maintenance window', async () => {
    // a Monday noon: the Sunday window is closed
    const closed = await preparePatch(
      { cluster: 'prod-eu', executionName: RUN, kubernetesVersion: 'v1.37.2' },
      deps('2026-11-30T12:00:00Z'),
    );
    expect(closed.window.open).toBe(false);
    const out = await preparePatch(
      { cluster: 'prod-eu', executionName: RUN, kubernetesVersion: 'v1.37.2', parentOwner: PARENT },
      deps('2026-11-30T12:00:00Z'),
    );
    expect(out.window).toEqual({
      open: true,
      ignored: true,
      start: '2026-11-30T12:00:00.000Z',
      end: new Date(Date.parse('2026-11-30T12:00:00Z') + UNWINDOWED_RUN_HOURS * 3_600_000).toISOString(),
    });
  });

  it('rejects a kubelet upgrade of a kops cluster: kops replaces its workers', async () => {
    await expect(
      preparePatch({ cluster: 'kops-eu', executionName: RUN, kubernetesVersion: 'v1.37.2' }, deps()),
    ).rejects.toThrow(NotForThisKindError);
  });
});

describe('plan-patch with kubernetesVersion', () => {
  it('rejects a target newer than the API server and writes no plan', async () => {
    const store = memoryStore();
    await store.putJson(`prod-eu/patching/${RUN}/nodes-before.json`, [node('a', 'v1.36.4')]);
    const before = store.objects.size;
    await expect(
      planPatchRun(
        { cluster: 'prod-eu', executionName: RUN, kubernetesVersion: 'v1.37.2', apiServerVersion: 'v1.36.4' },
        { ...deps(), store, bucket: 'b' },
      ),
    ).rejects.toThrow(PreflightRefusedError);
    expect(store.objects.size).toBe(before);
  });
});

describe('the upgrade block: workers', () => {
  const one = (c: Record<string, unknown>) =>
    parseConfig({ clusters: [{ name: 'c', region: 'eu-west-1', ...c }] }).clusters[0]!;

  it("upgrades the workers' kubelets by default where the cluster has a patching block, never on kops", () => {
    expect(kubeadm!.upgrade?.workers).toBe(true);
    expect(one({ kind: 'kubespray' }).upgrade?.workers).toBe(false);
    expect(one({ kind: 'kubeadm', patching: {}, upgrade: { workers: false } }).upgrade?.workers).toBe(false);
    expect(kops!.upgrade?.workers).toBe(false);
  });

  it('rejects workers: true without a patching block, and on kops, naming the field', () => {
    expect(() => one({ kind: 'kubeadm', upgrade: { workers: true } })).toThrow(
      /upgrade\.workers: the workers' kubelets are upgraded through patch-workers, which needs a patching block/,
    );
    expect(() =>
      one({
        kind: 'kops',
        kops: { stateStore: 's3://kops-state/kops-eu.example.com' },
        upgrade: { workers: true },
      }),
    ).toThrow(/upgrade\.workers: kops replaces its workers itself/);
  });
});
