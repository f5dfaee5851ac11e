/**
 * kops control-plane upgrades by instance replacement, pure: is the instance behind its Auto
 * Scaling group's launch template (did the user run `kops update cluster --yes`?), and has the
 * group's replacement come into service. Learned from kops' rolling update
 * (pkg/instancegroups/rollingupdate.go, cloudup/awsup): an instance needs an update when its
 * launch template id:version differs from the group's; control-plane groups roll one at a time.
 */
import type { AutoScalingGroupState, LoadBalancerTarget } from '../ports';

type GroupInstance = AutoScalingGroupState['instances'][number];

/**
 * Why this instance must not be replaced for an upgrade, or undefined: it already runs the
 * launch template version its group launches, so a replacement would come back unchanged
 * (`kops update cluster --yes` not run yet). Unknown templates are not judged.
 */
export function launchTemplateProblem(group: AutoScalingGroupState, instanceId: string): string | undefined {
  const own = group.instances.find((i) => i.instanceId === instanceId)?.launchTemplate;
  if (!own || !group.launchTemplate) return undefined;
  if (own !== group.launchTemplate) return undefined;
  return `${instanceId} already runs ${own}, the launch template version its Auto Scaling group ${group.name} launches: a replacement would come back unchanged. Run kops update cluster --yes first`;
}

/**
 * The Node name kops gives an AWS instance: its private DNS name, or the instance id when EC2
 * names hosts after the resource (hostname type resource-name).
 */
export function kopsNodeName(
  i: Pick<GroupInstance, 'instanceId' | 'privateDnsName' | 'hostnameType'>,
): string | undefined {
  if (i.hostnameType === 'resource-name') return i.instanceId;
  return i.privateDnsName || undefined;
}

/** the old node's targets with the new instance: an instance target gets its id, an IP target its private IP */
export function retarget(
  targets: readonly LoadBalancerTarget[],
  next: { instanceId: string; privateIp?: string },
): LoadBalancerTarget[] | undefined {
  const out: LoadBalancerTarget[] = [];
  for (const t of targets) {
    const id = /^i-[0-9a-f]+$/.test(t.id) ? next.instanceId : next.privateIp;
    if (!id) return undefined;
    out.push({ ...t, id });
  }
  return out;
}

export interface ReplacementCheck {
  group: AutoScalingGroupState;
  /** the instance that was terminated */
  replaced: string;
  /** the group's instances when it was terminated: the replacement is none of these */
  before: readonly string[];
  /** the old node's targets, deregistered before the replacement */
  targets: readonly LoadBalancerTarget[];
  /** checks made before this one */
  checks?: number;
  maxChecks: number;
}

export interface ReplacementProgress {
  ready: boolean;
  deadlineExpired: boolean;
  checks: number;
  summary: string;
  /** the new instance, its Node and its targets, once ready */
  instanceId?: string;
  node?: string;
  privateIp?: string;
  targets?: LoadBalancerTarget[];
}

/**
 * One check of the replacement: the group's instance that was not there before, InService and
 * Healthy, with a Node name and the targets it takes. Counted like the gates: past maxChecks
 * checks without it, the deadline has expired.
 */
export function judgeReplacement(c: ReplacementCheck): ReplacementProgress {
  const checks = (c.checks ?? 0) + 1;
  const fresh = c.group.instances.filter(
    (i) => i.instanceId !== c.replaced && !c.before.includes(i.instanceId),
  );
  const inService = fresh.find((i) => i.lifecycleState === 'InService' && i.healthStatus === 'Healthy');
  const node = inService ? kopsNodeName(inService) : undefined;
  const targets = inService ? retarget(c.targets, inService) : undefined;
  if (inService && node && targets) {
    return {
      ready: true,
      deadlineExpired: false,
      checks,
      summary: `${inService.instanceId} (Node ${node}) replaced ${c.replaced} and is InService in ${c.group.name}`,
      instanceId: inService.instanceId,
      node,
      ...(inService.privateIp ? { privateIp: inService.privateIp } : {}),
      targets,
    };
  }
  const seen = fresh.length
    ? fresh.map((i) => `${i.instanceId} is ${i.lifecycleState}/${i.healthStatus}`).join(', ')
    : 'no new instance yet';
  const why = inService ? `${inService.instanceId} has no private DNS name or IP yet` : seen;
  const deadlineExpired = checks >= c.maxChecks;
  return {
    ready: false,
    deadlineExpired,
    checks,
    summary: deadlineExpired
      ? `the Auto Scaling group ${c.group.name} did not bring a replacement for ${c.replaced} into service within ${checks} checks: ${why}`
      : `waiting for ${c.group.name} to replace ${c.replaced}: ${why}`,
  };
}
