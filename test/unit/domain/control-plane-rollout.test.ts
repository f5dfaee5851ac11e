import {
  faultTolerance,
  nodeAction,
  planRollout,
  quorumSize,
  runbookSection,
  takeOutProblems,
} from '../../../functions/shared/domain/control-plane-rollout';

const healthy = (...names: string[]) => names.map((name) => ({ name, healthy: true }));

describe('quorum math', () => {
  it.each([
    [1, 1, 0],
    [2, 2, 0],
    [3, 2, 1],
    [4, 3, 1],
    [5, 3, 2],
  ])('%i members need %i for quorum and tolerate %i out', (members, quorum, tolerance) => {
    expect(quorumSize(members)).toBe(quorum);
    expect(faultTolerance(members)).toBe(tolerance);
  });
});

describe('takeOutProblems', () => {
  it('allows taking one member of three out when all are healthy and no other node is out', () => {
    expect(
      takeOutProblems({ members: healthy('a', 'b', 'c'), member: 'b', node: 'b', outOfService: [] }),
    ).toEqual([]);
  });

  it('ignores the node itself in the out-of-service list (a resumed step)', () => {
    expect(
      takeOutProblems({ members: healthy('a', 'b', 'c'), member: 'b', node: 'b', outOfService: ['b'] }),
    ).toEqual([]);
  });

  it('rejects taking a second control-plane node out of service', () => {
    expect(
      takeOutProblems({ members: healthy('a', 'b', 'c'), member: 'b', node: 'b', outOfService: ['a'] }),
    ).toEqual(['a already out of service: never two control-plane nodes at once']);
  });

  it('rejects when any member is unhealthy, naming it and why', () => {
    const members = [...healthy('a', 'b'), { name: 'c', healthy: false, reason: 'alarm NOSPACE' }];

    expect(takeOutProblems({ members, member: 'a', node: 'a', outOfService: [] })).toEqual([
      'etcd member c is not healthy: alarm NOSPACE',
    ]);
  });

  it('rejects a cluster that cannot lose a member without losing quorum', () => {
    expect(takeOutProblems({ members: healthy('a', 'b'), member: 'a', node: 'a', outOfService: [] })).toEqual(
      [
        'an etcd cluster of 2 member(s) cannot lose one without losing quorum (2 needed); upgrade it by hand in a maintenance window',
      ],
    );
  });

  it('rejects a member that is not in the member list', () => {
    expect(
      takeOutProblems({ members: healthy('a', 'b', 'c'), member: 'x', node: 'x', outOfService: [] })[0],
    ).toBe('x is not an etcd member (members: a, b, c)');
  });
});

describe('planRollout', () => {
  const nodes = [
    { name: 'cp-3', instanceId: 'i-3', isLeader: false },
    { name: 'cp-1', instanceId: 'i-1', isLeader: true },
    { name: 'cp-2', instanceId: 'i-2', isLeader: false },
  ];

  it('takes the followers first by name and the etcd leader last, so leadership moves once', () => {
    const plan = planRollout('kubeadm', 'upgrade', nodes);

    expect(plan.map((n) => n.name)).toEqual(['cp-2', 'cp-3', 'cp-1']);
    expect(plan.map((n) => n.position)).toEqual([1, 2, 3]);
  });

  it('runs kubeadm upgrade apply on the first node and upgrade node on the others', () => {
    const plan = planRollout('kubespray', 'upgrade', nodes);

    expect(plan.map((n) => [n.first, n.action])).toEqual([
      [true, 'kubeadm-upgrade-apply'],
      [false, 'kubeadm-upgrade-node'],
      [false, 'kubeadm-upgrade-node'],
    ]);
  });

  it('replaces kops instances through their Auto Scaling group', () => {
    expect(planRollout('kops', 'upgrade', nodes).every((n) => n.action === 'replace-instance')).toBe(true);
  });

  it('patches the OS on every node for patch-control-plane', () => {
    expect(planRollout('kubeadm', 'patch', nodes).every((n) => n.action === 'os-patch')).toBe(true);
  });

  it('goes through every step in order on each node: leader, load balancer, drain, upgrade, gate, back', () => {
    expect(planRollout('kubeadm', 'upgrade', nodes)[0]!.steps).toEqual([
      'move-etcd-leader',
      'deregister-from-load-balancer',
      'cordon-and-drain',
      'upgrade',
      'gate',
      'uncordon',
      'register-in-load-balancer',
    ]);
  });

  it('rejects EKS, whose control plane is upgraded through the EKS API', () => {
    expect(() => nodeAction('eks', 'upgrade', true)).toThrow('EKS control planes');
  });

  it('points each failed step at its runbook section', () => {
    expect(runbookSection('gate')).toBe(
      'docs/runbooks/upgrade-control-plane.md#the-gate-after-the-node-failed',
    );
    expect(runbookSection('something-else')).toBe('docs/runbooks/upgrade-control-plane.md#a-step-failed');
  });
});
