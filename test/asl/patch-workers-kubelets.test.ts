/**
 * patch-workers with kubernetesVersion: the workers' kubelets upgraded through the patching
 * workflow's sliding window (issue 12: "after the control plane, the workers' kubelets"). The
 * real ASL and Lambdas over the simulated cluster of test/asl/patch-world.ts.
 */
import type { JsonObject } from '../../sandbox/asl-runner';
import { CLUSTER, PatchWorld } from './patch-world';

const OWNER = 'patch-workers-prod-eu-20261129T020000Z';
const PARENT = 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-upgrade-control-plane:up-1';
/** Tuesday 2026-12-01 10:00 UTC: outside the default window (Sundays 02:00 UTC) */
const OUT_OF_WINDOW = '2026-12-01T10:00:00.000Z';

const report = (w: PatchWorld) => w.outcomes.published.at(-1)!['patching'] as JsonObject;
const names = (list: unknown) => ((list as { first: string[] }).first ?? []).slice().sort();
const commands = (w: PatchWorld, command: string) => w.sent.filter((s) => s.command === command);

describe('patch-workers with kubernetesVersion: the kubelet upgrade', () => {
  it("upgrades every worker's kubelet in the sliding window, skips the one already at the target, and gates on the reported version", async () => {
    const w = new PatchWorld({ workers: 4, kubeletVersion: 'v1.36.4', patching: { maxUnavailable: 2 } });
    w.node(1).kubeletVersion = 'v1.37.2';

    const r = await w.run({ kubernetesVersion: 'v1.37.2' });

    expect(r.status).toBe('SUCCEEDED');
    expect(w.outcomes.published.at(-1)!['outcome']).toBe('Succeeded');
    // the kubelet upgrade instead of the OS patch, on the three nodes behind, each drained first
    expect(commands(w, 'os-patch')).toEqual([]);
    const upgraded = commands(w, 'kubelet-upgrade');
    expect(upgraded.map((c) => c.instanceId).sort()).toEqual(
      [0, 2, 3].map((i) => w.node(i).instanceId).sort(),
    );
    for (const c of upgraded) expect(c.args).toEqual({ version: 'v1.37.2', packageManager: 'auto' });
    expect(commands(w, 'node-drain')).toHaveLength(3);
    expect(names(report(w)['patched'])).toEqual([0, 2, 3].map((i) => w.node(i).name).sort());
    for (const n of w.nodes.values()) {
      expect(n.kubeletVersion).toBe('v1.37.2');
      expect(n.unschedulable).toBe(false);
    }
    expect(w.node(0).installed).toEqual(['kubeadm=1.37.2-*', 'kubelet=1.37.2-*', 'kubectl=1.37.2-*']);
    expect(w.node(1).installed).toEqual([]);
    expect(w.node(0).annotations['caretaker.io/patch-summary']).toMatch(
      /^manager=apt,packages=3,rebooted=false,seconds=\d+$/,
    );
    // the same window: at most maxUnavailable at once; the node at the target skipped and named
    expect(w.maxInFlight).toBeLessThanOrEqual(2);
    const plan = r.calls.find((c) => c.target === 'plan-patch')!;
    expect(plan.input).toMatchObject({ kubernetesVersion: 'v1.37.2', apiServerVersion: 'v1.37.2' });
    expect(report(w)['skipped']).toBe(1);
    expect(w.lock.holder(CLUSTER, 'workers')).toBeUndefined();
  }, 60_000);

  it('skips every node already at the target: nothing is cordoned', async () => {
    const w = new PatchWorld({ workers: 3, kubeletVersion: 'v1.37.2' });

    const r = await w.run({ kubernetesVersion: 'v1.37.2' });

    expect(r.status).toBe('SUCCEEDED');
    expect(commands(w, 'node-cordon')).toEqual([]);
    expect(commands(w, 'kubelet-upgrade')).toEqual([]);
    expect(report(w)).toMatchObject({ outcome: 'Succeeded', planned: 0, skipped: 3 });
  }, 60_000);

  it('refuses a target newer than the API server before any node is touched', async () => {
    const w = new PatchWorld({ workers: 2, kubeletVersion: 'v1.36.4' });
    w.apiServerVersion = 'v1.36.4';

    const r = await w.run({ kubernetesVersion: 'v1.37.2' });

    expect(r.status).toBe('FAILED');
    expect(r.error?.Error).toBe('PreflightRefusedError');
    expect(r.error?.Cause).toContain(
      'kubernetesVersion v1.37.2 is newer than the API server (v1.36.4): a kubelet may not be newer than kube-apiserver',
    );
    expect(w.sent.map((s) => s.command)).toEqual(['node-inventory']);
    expect(w.lock.holder(CLUSTER, 'workers')).toBeUndefined();
  }, 60_000);

  it('refuses when the API server version could not be read', async () => {
    const w = new PatchWorld({ workers: 1, kubeletVersion: 'v1.36.4' });
    w.apiServerVersion = '';

    const r = await w.run({ kubernetesVersion: 'v1.37.2' });

    expect(r.status).toBe('FAILED');
    expect(r.error?.Cause).toContain("the API server's version could not be read");
    expect(commands(w, 'node-cordon')).toEqual([]);
  }, 60_000);

  it('a kubelet that keeps reporting its old version fails its health gate and is named', async () => {
    const w = new PatchWorld({
      workers: 2,
      kubeletVersion: 'v1.36.4',
      patching: { health: { returnTimeoutSeconds: 60 } },
    });
    w.node(0).kubeletStuck = true;

    const r = await w.run({ kubernetesVersion: 'v1.37.2' });

    // one failure is within the default error budget
    expect(r.status).toBe('SUCCEEDED');
    const failed = (report(w)['failed'] as { first: { node: string; reason: string }[] }).first;
    expect(failed.map((f) => f.node)).toEqual([w.node(0).name]);
    expect(failed[0]!.reason).toContain('health');
    expect(w.node(1).kubeletVersion).toBe('v1.37.2');
  }, 60_000);

  it("under the upgrade's lease: ignores the maintenance window, takes no lease of its own and leaves the parent's", async () => {
    const w = new PatchWorld({ workers: 2, kubeletVersion: 'v1.36.4', now: OUT_OF_WINDOW });
    const parentLease = {
      owner: PARENT,
      operation: 'upgrade-control-plane',
      acquiredAt: OUT_OF_WINDOW,
      expiresAt: '2026-12-01T14:00:00.000Z',
    };
    w.lock.hold(CLUSTER, parentLease, ['control-plane', 'workers']);

    const r = await w.run({ kubernetesVersion: 'v1.37.2', parentOwner: PARENT });

    expect(r.status).toBe('SUCCEEDED');
    expect(commands(w, 'kubelet-upgrade')).toHaveLength(2);
    expect(r.inputsTo('acquire-lock')[0]).toMatchObject({ parentOwner: PARENT, scopes: ['workers'] });
    // each node renewed the parent's lease, which the parent still holds (it releases it)
    expect(r.inputsTo('acquire-lock').slice(1)).toEqual([
      expect.objectContaining({ owner: PARENT, renew: true }),
      expect.objectContaining({ owner: PARENT, renew: true }),
    ]);
    expect(w.lock.holder(CLUSTER, 'workers')?.owner).toBe(PARENT);
    expect(w.lock.holder(CLUSTER, 'control-plane')?.owner).toBe(PARENT);
  }, 60_000);

  it('without a parent, the same run outside the window touches nothing', async () => {
    const w = new PatchWorld({ workers: 2, kubeletVersion: 'v1.36.4', now: OUT_OF_WINDOW });

    const r = await w.run({ kubernetesVersion: 'v1.37.2' });

    expect(r.status).toBe('SUCCEEDED');
    expect(r.states).toContain('Report that the maintenance window is closed');
    expect(w.sent).toEqual([]);
  }, 60_000);

  it('fails before any node when the named parent does not hold the worker lock', async () => {
    const w = new PatchWorld({ workers: 2, kubeletVersion: 'v1.36.4' });

    const r = await w.run({ kubernetesVersion: 'v1.37.2', parentOwner: PARENT });

    expect(r.status).toBe('FAILED');
    expect(r.error?.Error).toBe('LeaseLostError');
    expect(commands(w, 'node-cordon')).toEqual([]);
    expect(OWNER).toBeTruthy();
  }, 60_000);
});
