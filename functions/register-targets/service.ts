import type { LoadBalancerTarget, TargetGroups } from '../shared/ports';

/**
 * Puts a node's targets back into their target groups, exactly as deregister-targets took them
 * out (same ids and ports). Registering a registered target is a no-op in ELBv2, so a retry is safe.
 */
export async function registerTargets(
  input: { cluster: string; targets: LoadBalancerTarget[] },
  deps: { targetGroups: TargetGroups },
): Promise<{ targets: LoadBalancerTarget[] }> {
  const byGroup = new Map<string, LoadBalancerTarget[]>();
  for (const t of input.targets) byGroup.set(t.targetGroupArn, [...(byGroup.get(t.targetGroupArn) ?? []), t]);
  for (const [arn, targets] of byGroup) {
    await deps.targetGroups.register(
      arn,
      targets.map((t) => ({ id: t.id, ...(t.port !== undefined ? { port: t.port } : {}) })),
    );
  }
  return { targets: input.targets };
}
