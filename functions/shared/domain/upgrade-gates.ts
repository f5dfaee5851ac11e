/**
 * The upgrade's judgements, pure: the preflight (may the upgrade start, and in which order?) and
 * the gates before and after each control-plane node (may it go out? did it come back right?).
 * The facts come from node commands (etcd-status, control-plane-upgrade plan, control-plane-check)
 * and check-alarms; nothing here reads the world itself.
 */
import type { ClusterKind } from './config';
import type { ControlPlaneCheckResult, ControlPlaneUpgradeResult } from './commands/control-plane-schemas';
import {
  faultTolerance,
  planRollout,
  quorumSize,
  takeOutProblems,
  type RolloutNode,
} from './control-plane-rollout';
import { checkSkew, compareVersions, parseReported, type KubernetesVersion } from './kubernetes-version';
import type { MemberFailure, MemberStatus } from './member-selection';

/** what the run does to each node: upgrade Kubernetes (kubeadm, or kops' instance replacement) or patch the OS */
export type ControlPlaneAction = 'upgrade' | 'os-patch';

export interface PreflightFacts {
  cluster: string;
  kind: ClusterKind;
  /** absent = upgrade (upgrade-control-plane); os-patch = patch-control-plane */
  action?: ControlPlaneAction;
  /** the target release; empty for os-patch */
  version: string;
  instances: readonly { instanceId: string; name?: string; privateIp?: string }[];
  statuses: readonly (MemberStatus | MemberFailure)[];
  plan: ControlPlaneUpgradeResult;
  alarms: { firing: readonly { name: string; reason?: string }[] };
  targetGroupArns: readonly string[];
}

export interface PreflightPlan {
  problems: string[];
  warnings: string[];
  from: string;
  to: string;
  nodes: (RolloutNode & { privateIp?: string; kubeadmPhase: 'apply' | 'node' })[];
  upToDate: string[];
  kubeadmPlan: string;
  /** one paragraph for the approval request and the dry-run report */
  summary: string;
}

/** `registry.k8s.io/kube-apiserver:v1.36.4` → `v1.36.4` */
export function imageTag(image: string): string {
  const at = image.lastIndexOf(':');
  return at > image.lastIndexOf('/') ? image.slice(at + 1).split('@')[0]! : '';
}

/** the instance id in `aws:///eu-west-1a/i-0abc…` */
export function instanceOfProvider(providerID: string): string | undefined {
  return /^aws:\/\/\/[^/]*\/((?:i|mi)-[0-9a-f]+)$/.exec(providerID)?.[1];
}

const isFailure = (s: MemberStatus | MemberFailure): s is MemberFailure => 'error' in s;

/**
 * Everything the issue's preflight asks before anything changes: the skew policy, every
 * control-plane Node Ready and SSM-managed, every etcd member healthy with no alarm and a
 * member to spare, no blocker alarm firing, the target in the package repository. The order:
 * followers first, the etcd leader last.
 */
export function assessPreflight(f: PreflightFacts): PreflightPlan {
  const problems: string[] = [];
  const warnings: string[] = [];
  const patching = f.action === 'os-patch';
  const nodes = f.plan.nodes ?? [];
  const controlPlane = nodes.filter((n) => n.controlPlane);
  const apiServers = (f.plan.apiServers ?? []).map((a) => ({ node: a.node, version: imageTag(a.image) }));
  // an OS patch changes no Kubernetes version: no skew to check, the target is what runs now
  const skew = patching
    ? { problems: [], upToDate: [] as string[], from: oldest(apiServers), target: undefined }
    : checkSkew({
        target: f.version,
        controlPlane: apiServers,
        kubelets: nodes.map((n) => ({ node: n.name, version: n.kubeletVersion })),
      });
  problems.push(...skew.problems);
  if (controlPlane.length === 0) problems.push('the API server lists no control-plane Node');
  for (const n of controlPlane.filter((x) => !x.ready))
    problems.push(`control-plane Node ${n.name} is not Ready`);
  for (const n of controlPlane.filter((x) => !apiServers.some((a) => a.node === x.name))) {
    problems.push(
      `control-plane Node ${n.name} has no kube-apiserver static pod (not a kubeadm control plane?)`,
    );
  }

  const byInstance = new Map(f.instances.map((i) => [i.instanceId, i]));
  const candidates = controlPlane.flatMap((n) => {
    const id = instanceOfProvider(n.providerID);
    if (!id || !byInstance.has(id)) {
      problems.push(
        `control-plane Node ${n.name} (${n.providerID || 'no providerID'}) is not a running, SSM-managed instance with the cluster's control-plane tags`,
      );
      return [];
    }
    const status = f.statuses.find((s) => s.instanceId === id);
    return [{ name: n.name, instanceId: id, isLeader: !!status && !isFailure(status) && status.isLeader }];
  });

  for (const s of f.statuses) {
    if (isFailure(s)) problems.push(`etcd member on ${s.instanceId} did not report: ${s.error.Error}`);
    else if (!s.healthy) problems.push(`etcd member on ${s.instanceId} is not healthy: ${s.reason}`);
    else if (s.alarms.length > 0)
      problems.push(`etcd member on ${s.instanceId} has alarms: ${s.alarms.join(', ')}`);
  }
  if (faultTolerance(f.statuses.length) < 1) {
    problems.push(
      `etcd has ${f.statuses.length} member(s): taking one out loses quorum (${quorumSize(f.statuses.length)} needed); upgrade it by hand in a maintenance window`,
    );
  }
  for (const a of f.alarms.firing)
    problems.push(`blocker alarm ${a.name} is in ALARM${a.reason ? `: ${a.reason}` : ''}`);
  if (f.plan.packageAvailable === false) {
    problems.push(
      `the package repository on ${f.plan.instanceId} does not offer kubeadm ${f.version}: point it at the ${skew.target ? `v${skew.target.major}.${skew.target.minor}` : 'target'} repository first`,
    );
  }
  if (candidates.length > 0 && skew.upToDate.length === candidates.length) {
    problems.push(`every control-plane node already runs ${f.version}: nothing to upgrade`);
  }
  if (f.targetGroupArns.length === 0) {
    warnings.push(
      'no controlPlane.targetGroupArns configured: API traffic is not drained from a node before its API server restarts',
    );
  }

  const rollout =
    problems.length > 0 || f.kind === 'eks'
      ? []
      : planRollout(f.kind, patching ? 'patch' : 'upgrade', candidates);
  const planned = rollout.map((n) => ({
    ...n,
    ...(byInstance.get(n.instanceId)?.privateIp
      ? { privateIp: byInstance.get(n.instanceId)!.privateIp }
      : {}),
    kubeadmPhase: n.first ? ('apply' as const) : ('node' as const),
  }));
  const from = skew.from?.text ?? 'unknown';
  const to = patching ? from : (skew.target?.text ?? f.version);
  const what = (n: (typeof planned)[number]): string =>
    n.action === 'os-patch'
      ? 'os-patch, reboot if required'
      : n.action === 'replace-instance'
        ? 'replaced through its Auto Scaling group'
        : `kubeadm upgrade ${n.kubeadmPhase}`;
  const steps = planned.map((n) => `${n.position}. ${n.name} (${n.instanceId}, ${what(n)})`).join('; ');
  const summary =
    problems.length > 0
      ? patching
        ? `OS patch of ${f.cluster}'s control plane refused:\n- ${problems.join('\n- ')}`
        : `Upgrade of ${f.cluster} to ${to} refused:\n- ${problems.join('\n- ')}`
      : (patching
          ? `Patch the OS of ${f.cluster}'s control plane (Kubernetes ${from} unchanged), one node at a time: ${steps}.`
          : `Upgrade ${f.cluster} from ${from} to ${to}, one node at a time: ${steps}.`) +
        (f.kind === 'kops' && !patching
          ? ' kops: each instance is terminated in its Auto Scaling group, which launches the replacement from the launch template `kops update cluster --yes` wrote.'
          : '') +
        (warnings.length ? ` Warning: ${warnings.join('; ')}.` : '');
  // a notification's note takes 1000 characters; the approval adds the snapshot key to it
  const clipped = summary.length > 900 ? `${summary.slice(0, 890)} …` : summary;
  return {
    problems,
    warnings,
    from,
    to,
    nodes: planned,
    upToDate: skew.upToDate,
    kubeadmPlan: f.plan.planOutput ?? '',
    // a refusal keeps every reason; a plan fits a notification
    summary: problems.length > 0 ? summary : clipped,
  };
}

/** the oldest API server version, where a patch leaves the control plane */
function oldest(apiServers: readonly { version: string }[]): KubernetesVersion | undefined {
  return apiServers
    .map((a) => parseReported(a.version))
    .filter((v): v is KubernetesVersion => v !== undefined)
    .sort(compareVersions)[0];
}

export interface GateVerdict {
  ok: boolean;
  problems: string[];
  summary: string;
}

/**
 * The gate before a node goes out (`before`) and after it changed (`after`). Before: its API
 * server and Node ready, every etcd member healthy with one to spare, no other control-plane node
 * out of service. After, in addition: the kubelet and the static pods at the target version.
 */
export function judgeGate(
  phase: 'before' | 'after',
  check: ControlPlaneCheckResult,
  version?: string,
): GateVerdict {
  const problems: string[] = [];
  const node = check.node;
  if (!check.apiServerReady) problems.push(`${node}'s API server is not ready: ${check.apiServerDetail}`);
  if (!check.nodeExists) problems.push(`Node ${node} does not exist`);
  else if (!check.nodeReady) problems.push(`Node ${node} is not Ready`);
  const members = check.etcdMembers.map((m) => ({ name: m.endpoint, healthy: m.healthy, reason: m.detail }));
  if (check.etcdMemberCount !== members.length) {
    problems.push(`etcd lists ${check.etcdMemberCount} member(s), ${members.length} answered`);
  }
  // quorum is counted over every listed member: one that did not answer counts as down
  const counted = [
    ...members,
    ...Array.from({ length: Math.max(0, check.etcdMemberCount - members.length) }, (_, i) => ({
      name: `unanswered member ${i + 1}`,
      healthy: false,
      reason: 'did not answer',
    })),
  ];
  const outOfService = check.controlPlaneNodes.filter((n) => !n.ready || n.unschedulable).map((n) => n.name);
  if (phase === 'before') {
    problems.push(
      ...takeOutProblems({ members: counted, member: counted[0]?.name ?? node, node, outOfService }).filter(
        (p) => !p.includes('is not an etcd member'),
      ),
    );
  } else {
    for (const m of members.filter((x) => !x.healthy)) {
      problems.push(`etcd member ${m.name} is not healthy${m.reason ? `: ${m.reason}` : ''}`);
    }
    const healthy = counted.filter((m) => m.healthy).length;
    if (healthy < quorumSize(check.etcdMemberCount)) {
      problems.push(`etcd has ${healthy} healthy of ${check.etcdMemberCount}: no quorum`);
    }
    const others = outOfService.filter((n) => n !== node);
    if (others.length > 0) problems.push(`${others.join(', ')} out of service besides ${node}`);
    const want = version ? parseReported(version)?.text : undefined;
    if (want) {
      if (parseReported(check.kubeletVersion)?.text !== want) {
        problems.push(`Node ${node}'s kubelet reports ${check.kubeletVersion || 'no version'}, not ${want}`);
      }
      const core = check.staticPods.filter((p) => !p.name.startsWith('etcd-'));
      if (!core.some((p) => p.name.startsWith('kube-apiserver-'))) {
        problems.push(`no kube-apiserver static pod on ${node}`);
      }
      for (const p of core) {
        if (imageTag(p.image) !== want) problems.push(`static pod ${p.name} runs ${p.image}, not ${want}`);
        else if (!p.ready) problems.push(`static pod ${p.name} is not Ready`);
      }
    }
  }
  const summary = problems.length
    ? `gate ${phase} ${node} failed: ${problems.join('; ')}`
    : `gate ${phase} ${node} passed` + (phase === 'after' && version ? ` at ${version}` : '');
  return { ok: problems.length === 0, problems, summary };
}

/** one gate check 15 s apart (the Wait state in the upgrade ASL) */
export const GATE_CHECK_SECONDS = 15;
/** a node gets 40 checks (10 minutes) to come back after its upgrade: kubelet restart, static pods */
export const GATE_MAX_CHECKS = 40;

/**
 * One check of a gate, counted: the gate before a node is asked once (deadlineExpired at once
 * when it fails); the gate after is asked until it passes or {@link GATE_MAX_CHECKS} checks failed.
 */
export function judgeGateCheck(i: {
  phase: 'before' | 'after';
  check: ControlPlaneCheckResult;
  version?: string;
  checks?: number;
}): GateVerdict & { checks: number; deadlineExpired: boolean } {
  const checks = (i.checks ?? 0) + 1;
  const verdict = judgeGate(i.phase, i.check, i.version);
  const deadlineExpired = !verdict.ok && (i.phase === 'before' || checks >= GATE_MAX_CHECKS);
  return { ...verdict, checks, deadlineExpired };
}
