/**
 * One control-plane node at a time: etcd quorum math, whether a member may be taken out of
 * service now, and the order and steps of a rolling upgrade or OS patch of the control plane.
 * Pure: no AWS, no I/O. The state machines run the steps; this decides what they are.
 */
import type { ClusterKind } from './config';

/** members that must agree for etcd to accept a write: a majority */
export function quorumSize(members: number): number {
  return Math.floor(members / 2) + 1;
}

/** how many members may be lost (or taken out) without losing quorum */
export function faultTolerance(members: number): number {
  return members <= 0 ? 0 : members - quorumSize(members);
}

/** one etcd member as the preflight or a gate saw it */
export interface MemberHealth {
  /** the member's name (kubeadm names it after the node) or the instance id it runs on */
  name: string;
  healthy: boolean;
  /** why it is not healthy */
  reason?: string;
}

export interface TakeOutRequest {
  /** every member of the etcd cluster, as just checked */
  members: readonly MemberHealth[];
  /** the member about to be taken out of service */
  member: string;
  /** control-plane nodes out of service right now (out of the load balancer, cordoned, upgrading) */
  outOfService: readonly string[];
  /** the node that goes out, as `outOfService` names it */
  node: string;
}

/**
 * Is it safe to take this member (and its API server) out of service now? Only when every
 * member is healthy, no other control-plane node is out of service, and the rest keep quorum.
 * @returns one line per reason it is not safe; empty = safe
 */
export function takeOutProblems(request: TakeOutRequest): string[] {
  const problems: string[] = [];
  const { members } = request;
  if (!members.some((m) => m.name === request.member)) {
    problems.push(
      `${request.member} is not an etcd member (members: ${members.map((m) => m.name).join(', ')})`,
    );
  }
  for (const m of members.filter((x) => !x.healthy)) {
    problems.push(`etcd member ${m.name} is not healthy${m.reason ? `: ${m.reason}` : ''}`);
  }
  const others = request.outOfService.filter((n) => n !== request.node);
  if (others.length > 0) {
    problems.push(`${others.join(', ')} already out of service: never two control-plane nodes at once`);
  }
  if (faultTolerance(members.length) < 1) {
    problems.push(
      `an etcd cluster of ${members.length} member(s) cannot lose one without losing quorum (${quorumSize(members.length)} needed); ` +
        'upgrade it by hand in a maintenance window',
    );
  }
  return problems;
}

/** what changes on a control-plane node */
export type NodeAction =
  /** kubeadm/Kubespray: `kubeadm upgrade apply <v>` (the first node) */
  | 'kubeadm-upgrade-apply'
  /** kubeadm/Kubespray: `kubeadm upgrade node` (every other node) */
  | 'kubeadm-upgrade-node'
  /** kops: terminate the instance in its Auto Scaling group; the new one comes up at the version `kops update cluster --yes` set */
  | 'replace-instance'
  /** patch-control-plane: the OS packages, reboot if required */
  | 'os-patch';

/** the steps every node goes through, in order; a failed step stops the run at that node */
export const NODE_STEPS = [
  'move-etcd-leader',
  'deregister-from-load-balancer',
  'cordon-and-drain',
  'upgrade',
  'gate',
  'uncordon',
  'register-in-load-balancer',
] as const;
export type NodeStep = (typeof NODE_STEPS)[number];

export interface RolloutCandidate {
  /** the Node object's name */
  name: string;
  instanceId: string;
  /** this node's etcd member leads now */
  isLeader: boolean;
}

export interface RolloutNode {
  name: string;
  instanceId: string;
  /** position in the rollout, from 1 */
  position: number;
  /** the first node of a kubeadm upgrade runs `upgrade apply`; the others `upgrade node` */
  first: boolean;
  action: NodeAction;
  steps: readonly NodeStep[];
}

export type RolloutWorkflow = 'upgrade' | 'patch';

/** which action a node gets, by cluster kind and its place in the rollout */
export function nodeAction(kind: ClusterKind, workflow: RolloutWorkflow, first: boolean): NodeAction {
  if (workflow === 'patch') return 'os-patch';
  if (kind === 'kops') return 'replace-instance';
  if (kind === 'eks')
    throw new Error('EKS control planes are upgraded through the EKS API, not node by node');
  return first ? 'kubeadm-upgrade-apply' : 'kubeadm-upgrade-node';
}

/**
 * The order and steps of a rolling change of the control plane: followers first (by name), the
 * current etcd leader last, so leadership moves once at most; kubeadm's `upgrade apply` runs on
 * the first node, `upgrade node` on the rest.
 */
export function planRollout(
  kind: ClusterKind,
  workflow: RolloutWorkflow,
  candidates: readonly RolloutCandidate[],
): RolloutNode[] {
  const ordered = [...candidates].sort(
    (a, b) => Number(a.isLeader) - Number(b.isLeader) || a.name.localeCompare(b.name),
  );
  return ordered.map((c, i) => ({
    name: c.name,
    instanceId: c.instanceId,
    position: i + 1,
    first: i === 0,
    action: nodeAction(kind, workflow, i === 0),
    steps: NODE_STEPS,
  }));
}

/** the runbook section a failure at `step` points to (docs/runbooks/upgrade-control-plane.md) */
export function runbookSection(step: string): string {
  const anchors: Record<string, string> = {
    'move-etcd-leader': 'moving-etcd-leadership-failed',
    'deregister-from-load-balancer': 'the-node-did-not-leave-the-load-balancer',
    'cordon-and-drain': 'the-drain-did-not-finish',
    upgrade: 'the-upgrade-command-failed',
    patch: 'the-os-patch-failed',
    gate: 'the-gate-after-the-node-failed',
    'gate-before': 'the-gate-before-the-node-failed',
    uncordon: 'the-node-stayed-cordoned',
    'register-in-load-balancer': 'the-node-did-not-come-back-into-the-load-balancer',
  };
  return `docs/runbooks/upgrade-control-plane.md#${anchors[step] ?? 'a-step-failed'}`;
}

/** kops: one check of the replacement instance every 30 s (the Wait state in the upgrade ASL) */
export const REPLACEMENT_CHECK_SECONDS = 30;
/** kops: 40 checks (20 minutes) for the Auto Scaling group's new instance to be InService and its Node Ready */
export const REPLACEMENT_MAX_CHECKS = 40;
