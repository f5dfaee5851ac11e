/**
 * The control-plane upgrade end to end in the sandbox, on the real API servers and etcd: the
 * real ASL, the real handlers, the real node scripts (etcd-move-leader, control-plane-check and
 * control-plane-upgrade run against real etcd and the real API), with stand-ins only for
 * kubeadm, systemctl and apt (sandbox/stand-ins/kube-stand-in, whose invocations are asserted)
 * and ELBv2 (whose targets drive the real TCP load balancer). One sandbox for the file.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RunEvent, RunResult } from '../../sandbox/asl-runner';
import { previousMinor, SANDBOX_TARGET_GROUP } from '../../sandbox/control-plane-upgrades';
import { kubernetesBinaries } from '../../sandbox/kubernetes';
import { Sandbox } from '../../sandbox/sandbox';
import {
  approveAsOperator,
  patchControlPlaneSandbox,
  upgradeSandbox,
  upgradeTiming,
} from '../../sandbox/upgrade';

jest.setTimeout(600_000);

let sandbox: Sandbox;
let pids: number[] = [];
let run: RunResult;
const events: RunEvent[] = [];
let target: string;
let from: string;

beforeAll(async () => {
  const built = kubernetesBinaries().version;
  from = previousMinor(built);
  target = built;
  sandbox = await Sandbox.start({
    kubernetes: true,
    keys: 300,
    upgradeFrom: from,
    onApprovalRequested: approveAsOperator,
    // the workers' kubelets after the control plane: both workers at once, and the seeded
    // workload's PodDisruptionBudgets (which allow no disruption) given up on quickly
    clusterConfig: {
      patching: {
        maxUnavailable: 2,
        drain: {
          timeoutSeconds: 30,
          onPdbTimeout: 'disable-eviction',
          disableEvictionAfterSeconds: 1,
          force: true,
        },
        health: { readySeconds: 0 },
      },
    },
  });
  pids = sandbox.pids;
  // the seeded workload's PodDisruptionBudgets allow no disruption: each worker's drain would sit
  // out its 30 s timeout first (test/integration/sandbox-patch.test.ts covers that path)
  await sandbox.kubernetes!.kubectl(['delete', 'pdb', '--all', '--all-namespaces']);
  run = await upgradeSandbox(sandbox, target, (e) => events.push(e));
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

const controlPlane = () => sandbox.fleet.kubernetesNodes().filter((n) => n.role === 'control-plane');

describe('upgrade-control-plane in the sandbox', () => {
  it('succeeds, and every control-plane kubelet and static pod reports the target', async () => {
    if (run.status !== 'SUCCEEDED') throw new Error(JSON.stringify(run.error));
    const nodes = await sandbox.kubernetes!.nodeSummaries();
    for (const n of controlPlane()) {
      expect(nodes.find((x) => x.name === n.name)).toMatchObject({
        ready: true,
        unschedulable: false,
        kubeletVersion: target,
      });
    }
    const images = await sandbox.kubernetes!.kubectl([
      'get',
      'pods',
      '-n',
      'kube-system',
      '-l',
      'tier=control-plane',
      '-o',
      'jsonpath={range .items[*]}{.spec.containers[0].image}{"\\n"}{end}',
    ]);
    expect(images.trim().split('\n')).toHaveLength(9);
    for (const image of images.trim().split('\n')) expect(image.endsWith(`:${target}`)).toBe(true);
    // then the workers' kubelets, through patch-workers' sliding window: Ready, uncordoned, at the target
    const workers = nodes.filter((n) => n.name.startsWith('worker-'));
    expect(workers.length).toBeGreaterThan(0);
    for (const w of workers) {
      expect(w).toMatchObject({ ready: true, unschedulable: false, kubeletVersion: target });
    }
  });

  it('ran kubeadm upgrade apply on the first node and upgrade node on the others, exactly, then the kubelet', () => {
    const calls = controlPlane().map((n) =>
      readFileSync(join(n.root, 'var', 'log', 'kube-stand-in.log'), 'utf8')
        .trim()
        .split('\n')
        .filter((l) => /^(kubeadm|systemctl)\t/.test(l) && !l.includes('version') && !l.includes('plan')),
    );
    const bare = target.slice(1);
    const applied = calls.filter((c) => c.includes(`kubeadm\tupgrade\tapply\t${target}\t--yes`));
    expect(applied).toHaveLength(1);
    for (const c of calls) {
      expect(c).toEqual([
        c.includes(`kubeadm\tupgrade\tapply\t${target}\t--yes`)
          ? `kubeadm\tupgrade\tapply\t${target}\t--yes`
          : 'kubeadm\tupgrade\tnode',
        'systemctl\tdaemon-reload',
        'systemctl\trestart\tkubelet',
      ]);
    }
    const apt = controlPlane().map((n) =>
      readFileSync(join(n.root, 'var', 'log', 'kube-stand-in.log'), 'utf8'),
    );
    for (const log of apt) {
      expect(log).toContain(`apt-get\tinstall\t-y\t-q\tkubeadm=${bare}-*`);
      expect(log).toContain(`apt-get\tinstall\t-y\t-q\tkubelet=${bare}-*\tkubectl=${bare}-*`);
    }
  });

  it("upgraded each worker's kubelet with exactly kubeadm's worker steps and the pinned packages, each worker once", () => {
    const bare = target.slice(1);
    const workers = sandbox.fleet.kubernetesNodes().filter((n) => n.role === 'worker');
    for (const w of workers) {
      const log = readFileSync(join(w.root, 'var', 'log', 'kube-stand-in.log'), 'utf8')
        .trim()
        .split('\n');
      expect(log).toEqual([
        'apt-mark\tunhold\tkubeadm',
        `apt-get\tinstall\t-y\t-q\tkubeadm=${bare}-*`,
        'apt-mark\thold\tkubeadm',
        'kubeadm\tupgrade\tnode',
        'apt-mark\tunhold\tkubelet\tkubectl',
        `apt-get\tinstall\t-y\t-q\tkubelet=${bare}-*\tkubectl=${bare}-*`,
        'apt-mark\thold\tkubelet\tkubectl',
        'systemctl\tdaemon-reload',
        'systemctl\trestart\tkubelet',
      ]);
    }
    // on each worker kubeadm's step, then the restarted kubelet (the workers in the window side by side)
    const steps = sandbox.upgrades!.workerSteps;
    expect(new Set(steps.map((s) => s.node)).size).toBe(workers.length);
    for (const w of workers) {
      expect(steps.filter((s) => s.node === w.name).map((s) => [s.step, s.version])).toEqual([
        ['kubeadm', target],
        ['kubelet', target],
      ]);
    }
  });

  it('never had two control-plane nodes out of service, upgraded each only while out of the load balancer, and never the etcd leader', () => {
    const timeline = sandbox.upgrades!.timeline;
    const out = new Set<string>();
    let upgraded = 0;
    for (const e of timeline) {
      if (e.kind === 'deregister') out.add(e.subject);
      if (e.kind === 'register') out.delete(e.subject);
      expect(out.size).toBeLessThanOrEqual(1);
      if (e.kind === 'kubeadm') {
        upgraded += 1;
        expect([...out]).toEqual([e.subject]);
        expect(e.etcdLeader).not.toBe('');
        expect(e.etcdLeader).not.toBe(e.subject);
      }
    }
    expect(upgraded).toBe(3);
    expect(sandbox.kubernetes!.loadBalancer.registered.sort()).toEqual(
      controlPlane()
        .map((n) => n.instanceId)
        .sort(),
    );
  });

  it('took a fresh snapshot under its lock first, released the lock, and says where the time went', async () => {
    expect(run.children.map((c) => [c.workflow, c.status])).toEqual([
      ['etcd-backup', 'SUCCEEDED'],
      ['patch-workers', 'SUCCEEDED'],
    ]);
    expect(await sandbox.locks.holders('sandbox', ['control-plane', 'workers'])).toEqual([
      undefined,
      undefined,
    ]);
    const timing = upgradeTiming(events, sandbox.upgrades!.timeline);
    expect(timing.perNodeMs).toHaveLength(3);
    expect(timing.waitStatesMs).toBeGreaterThan(0);
    expect(timing.waitStatesMs).toBeLessThan(timing.totalMs);
    expect(timing.workersMs).toBeGreaterThan(0);
    process.stderr.write(
      `sandbox upgrade ${from} → ${target}: ${JSON.stringify({ ...timing, group: SANDBOX_TARGET_GROUP.split('/')[1] })}\n`,
    );
  });
});

describe('patch-control-plane in the sandbox, after the upgrade (the same ASL, os-patch in place of kubeadm)', () => {
  let patch: RunResult;
  let timelineFrom: number;
  beforeAll(async () => {
    timelineFrom = sandbox.upgrades!.timeline.length;
    patch = await patchControlPlaneSandbox(sandbox);
  });

  it('patches each control-plane node once, one at a time, each out of the load balancer, and changes no version', async () => {
    if (patch.status !== 'SUCCEEDED') throw new Error(JSON.stringify(patch.error));
    const sent = patch.inputsTo('send-command') as Record<string, unknown>[];
    const patched = sent.filter((p) => p['command'] === 'os-patch').map((p) => p['instanceId']);
    expect([...patched].sort()).toEqual(
      controlPlane()
        .map((n) => n.instanceId)
        .sort(),
    );
    expect(sent.filter((p) => p['command'] === 'control-plane-upgrade').map((p) => p['args'])).toEqual([
      { phase: 'inventory' },
    ]);
    // each node left the load balancer and came back, never two out at once
    const timeline = sandbox.upgrades!.timeline.slice(timelineFrom);
    const out = new Set<string>();
    for (const e of timeline) {
      if (e.kind === 'deregister') out.add(e.subject);
      if (e.kind === 'register') out.delete(e.subject);
      expect(out.size).toBeLessThanOrEqual(1);
      expect(e.kind).not.toBe('kubeadm');
    }
    expect(timeline.filter((e) => e.kind === 'deregister').map((e) => e.subject)).toEqual(patched);
    expect(sandbox.kubernetes!.loadBalancer.registered.sort()).toEqual(
      controlPlane()
        .map((n) => n.instanceId)
        .sort(),
    );
    const nodes = await sandbox.kubernetes!.nodeSummaries();
    for (const n of controlPlane()) {
      expect(nodes.find((x) => x.name === n.name)).toMatchObject({
        ready: true,
        unschedulable: false,
        kubeletVersion: target,
      });
    }
    expect(patch.children.map((c) => [c.workflow, c.status])).toEqual([['etcd-backup', 'SUCCEEDED']]);
    expect(await sandbox.locks.holders('sandbox', ['control-plane', 'workers'])).toEqual([
      undefined,
      undefined,
    ]);
  });
});
