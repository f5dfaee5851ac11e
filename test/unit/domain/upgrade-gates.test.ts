import type {
  ControlPlaneCheckResult,
  ControlPlaneUpgradeResult,
} from '../../../functions/shared/domain/commands/control-plane-schemas';
import {
  assessPreflight,
  GATE_MAX_CHECKS,
  imageTag,
  instanceOfProvider,
  judgeGate,
  judgeGateCheck,
  type PreflightFacts,
} from '../../../functions/shared/domain/upgrade-gates';

const ids = ['i-0a1b2c3d4e5f60001', 'i-0a1b2c3d4e5f60002', 'i-0a1b2c3d4e5f60003'];
const names = ['cp-a', 'cp-b', 'cp-c'];

function plan(over: Partial<ControlPlaneUpgradeResult> = {}): ControlPlaneUpgradeResult {
  return {
    instanceId: ids[0]!,
    phase: 'plan',
    version: 'v1.37.2',
    kubeadm: 'kubeadm upgrade plan',
    planOutput: 'plan',
    packageAvailable: true,
    apiServers: names.map((n) => ({ node: n, image: 'registry.k8s.io/kube-apiserver:v1.36.4' })),
    nodes: names.map((n, i) => ({
      name: n,
      providerID: `aws:///eu-west-1a/${ids[i]}`,
      ready: true,
      kubeletVersion: 'v1.36.4',
      controlPlane: true,
    })),
    ...over,
  };
}

function facts(over: Partial<PreflightFacts> = {}): PreflightFacts {
  return {
    cluster: 'prod-eu',
    kind: 'kubeadm',
    version: 'v1.37.2',
    instances: ids.map((instanceId) => ({ instanceId })),
    statuses: ids.map((instanceId, i) => ({
      instanceId,
      healthy: true,
      reason: '',
      memberId: String(i + 1),
      isLeader: i === 1,
      revision: 10,
      dbSize: 1,
      version: '3.6.16',
      alarms: [],
    })),
    plan: plan(),
    alarms: { firing: [] },
    targetGroupArns: ['arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/api/0123456789abcdef'],
    ...over,
  };
}

function check(over: Partial<ControlPlaneCheckResult> = {}): ControlPlaneCheckResult {
  return {
    instanceId: ids[0]!,
    node: 'cp-a',
    version: 'v1.37.2',
    apiServerReady: true,
    apiServerDetail: 'ok',
    nodeExists: true,
    nodeReady: true,
    kubeletVersion: 'v1.37.2',
    staticPods: ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd'].map((c) => ({
      name: `${c}-cp-a`,
      image: `registry.k8s.io/${c}:${c === 'etcd' ? '3.6.16-0' : 'v1.37.2'}`,
      ready: true,
    })),
    controlPlaneNodes: names.map((name) => ({ name, ready: true, unschedulable: name === 'cp-a' })),
    etcdMembers: names.map((n) => ({ endpoint: `https://${n}:2379`, healthy: true, detail: '' })),
    etcdMemberCount: 3,
    ...over,
  };
}

describe('assessPreflight', () => {
  it('plans followers first and the leader last, kubeadm apply on the first', () => {
    const p = assessPreflight(facts());

    expect(p.problems).toEqual([]);
    expect(p.nodes.map((n) => [n.name, n.kubeadmPhase])).toEqual([
      ['cp-a', 'apply'],
      ['cp-c', 'node'],
      ['cp-b', 'node'],
    ]);
    expect(p.summary).toMatch(/^Upgrade prod-eu from v1\.36\.4 to v1\.37\.2, one node at a time: 1\. cp-a/);
  });

  it('refuses a control-plane Node that is not Ready or not SSM-managed', () => {
    const nodes = plan().nodes!.map((n) => (n.name === 'cp-b' ? { ...n, ready: false } : n));
    const p = assessPreflight(
      facts({ plan: plan({ nodes }), instances: ids.slice(0, 2).map((instanceId) => ({ instanceId })) }),
    );

    expect(p.problems).toEqual([
      'control-plane Node cp-b is not Ready',
      `control-plane Node cp-c (aws:///eu-west-1a/${ids[2]}) is not a running, SSM-managed instance with the cluster's control-plane tags`,
    ]);
    expect(p.nodes).toEqual([]);
  });

  it('refuses a member that did not report, an etcd alarm, a blocker alarm in ALARM and an unavailable package', () => {
    const statuses = [
      { instanceId: ids[0]!, error: { Error: 'CommandTimedOutError' } },
      ...facts()
        .statuses.slice(1)
        .map((s, i) => (i === 0 ? { ...s, alarms: ['NOSPACE'] } : s)),
    ];
    const p = assessPreflight(
      facts({
        statuses,
        alarms: { firing: [{ name: 'api-5xx' }] },
        plan: plan({ packageAvailable: false }),
      }),
    );

    expect(p.problems).toEqual([
      `etcd member on ${ids[0]} did not report: CommandTimedOutError`,
      `etcd member on ${ids[1]} has alarms: NOSPACE`,
      'blocker alarm api-5xx is in ALARM',
      `the package repository on ${ids[0]} does not offer kubeadm v1.37.2: point it at the v1.37 repository first`,
    ]);
  });

  it('refuses a single-member etcd, which cannot lose a member', () => {
    const f = facts();
    const p = assessPreflight({ ...f, statuses: f.statuses.slice(0, 1) });

    expect(p.problems).toContain(
      'etcd has 1 member(s): taking one out loses quorum (1 needed); upgrade it by hand in a maintenance window',
    );
  });

  it('refuses when every node already runs the target', () => {
    const up = plan({
      apiServers: names.map((n) => ({ node: n, image: 'registry.k8s.io/kube-apiserver:v1.37.2' })),
      nodes: plan().nodes!.map((n) => ({ ...n, kubeletVersion: 'v1.37.2' })),
    });

    expect(assessPreflight(facts({ plan: up })).problems).toEqual([
      'every control-plane node already runs v1.37.2: nothing to upgrade',
    ]);
  });

  it('plans kops nodes as instance replacements through their Auto Scaling groups', () => {
    const p = assessPreflight(facts({ kind: 'kops' }));

    expect(p.problems).toEqual([]);
    expect(p.nodes.map((n) => n.action)).toEqual([
      'replace-instance',
      'replace-instance',
      'replace-instance',
    ]);
    expect(p.summary).toContain('replaced through its Auto Scaling group');
    expect(p.summary).toContain('kops update cluster --yes');
  });

  it('plans an OS patch without a version: no skew checked, every node os-patch, the version unchanged', () => {
    const p = assessPreflight(
      facts({ action: 'os-patch', version: '', plan: plan({ packageAvailable: undefined }) }),
    );

    expect(p.problems).toEqual([]);
    expect(p.nodes.map((n) => n.action)).toEqual(['os-patch', 'os-patch', 'os-patch']);
    expect(p.from).toBe(p.to);
    expect(p.summary).toMatch(/^Patch the OS of .*'s control plane \(Kubernetes v1\.\d+\.\d+ unchanged\)/);
    expect(p.summary).toContain('os-patch, reboot if required');
  });

  it('warns, not refuses, when no target groups are configured', () => {
    const p = assessPreflight(facts({ targetGroupArns: [] }));

    expect(p.problems).toEqual([]);
    expect(p.warnings[0]).toContain('no controlPlane.targetGroupArns configured');
    expect(p.summary).toContain('Warning: no controlPlane.targetGroupArns');
  });

  it('reads image tags and provider ids', () => {
    expect(imageTag('registry.k8s.io/kube-apiserver:v1.36.4')).toBe('v1.36.4');
    expect(imageTag('localhost:5000/kube-apiserver')).toBe('');
    expect(instanceOfProvider('aws:///eu-west-1a/i-0a1b2c3d4e5f60001')).toBe('i-0a1b2c3d4e5f60001');
    expect(instanceOfProvider('kwok://node-1')).toBeUndefined();
  });
});

describe('judgeGate', () => {
  it('passes the node after its upgrade when everything runs the target', () => {
    expect(judgeGate('after', check(), 'v1.37.2')).toEqual({
      ok: true,
      problems: [],
      summary: 'gate after cp-a passed at v1.37.2',
    });
  });

  it('fails the gate after on an old kubelet, an old static pod, an API server that is not ready and an unhealthy member', () => {
    const c = check({
      apiServerReady: false,
      apiServerDetail: 'connection refused',
      kubeletVersion: 'v1.36.4',
      staticPods: [
        { name: 'kube-apiserver-cp-a', image: 'registry.k8s.io/kube-apiserver:v1.36.4', ready: true },
      ],
      etcdMembers: check().etcdMembers.map((m, i) =>
        i === 2 ? { ...m, healthy: false, detail: 'unhealthy' } : m,
      ),
    });

    expect(judgeGate('after', c, 'v1.37.2').problems).toEqual([
      "cp-a's API server is not ready: connection refused",
      'etcd member https://cp-c:2379 is not healthy: unhealthy',
      "Node cp-a's kubelet reports v1.36.4, not v1.37.2",
      'static pod kube-apiserver-cp-a runs registry.k8s.io/kube-apiserver:v1.36.4, not v1.37.2',
    ]);
  });

  it('fails the gate before a node while another control-plane node is out of service', () => {
    const c = check({
      controlPlaneNodes: names.map((name) => ({ name, ready: name !== 'cp-c', unschedulable: false })),
    });

    expect(judgeGate('before', c).problems).toEqual([
      'cp-c already out of service: never two control-plane nodes at once',
    ]);
  });

  it('fails the gate before when an etcd member does not answer', () => {
    const c = check({ etcdMembers: check().etcdMembers.slice(0, 2) });

    expect(judgeGate('before', c).problems).toEqual([
      'etcd lists 3 member(s), 2 answered',
      'etcd member unanswered member 1 is not healthy: did not answer',
    ]);
  });

  it('counts the checks: the gate after expires at its last check, the gate before at once', () => {
    const failing = check({ kubeletVersion: 'v1.36.4' });

    expect(judgeGateCheck({ phase: 'after', check: failing, version: 'v1.37.2', checks: 0 })).toMatchObject({
      ok: false,
      checks: 1,
      deadlineExpired: false,
    });
    expect(
      judgeGateCheck({ phase: 'after', check: failing, version: 'v1.37.2', checks: GATE_MAX_CHECKS - 1 }),
    ).toMatchObject({ checks: GATE_MAX_CHECKS, deadlineExpired: true });
    expect(judgeGateCheck({ phase: 'before', check: check({ nodeReady: false }) })).toMatchObject({
      ok: false,
      deadlineExpired: true,
    });
  });
});
