import { isNodeTarget } from '../shared/domain/load-balancer';
import type { ClusterDirectory, LoadBalancerTarget, TargetGroups } from '../shared/ports';

export interface TargetDeps {
  clusters: ClusterDirectory;
  targetGroups: TargetGroups;
}

/**
 * Takes a control-plane node out of every target group of the cluster's API load balancer
 * (controlPlane.targetGroupArns): its targets are found by instance id or private IP and
 * deregistered with their ports, which are returned so register-targets puts back exactly these.
 * A group the node is not in (already out, after a retry) is skipped. No groups configured: nothing to do.
 */
export async function deregisterTargets(
  input: { cluster: string; node: { instanceId: string; privateIp?: string } },
  deps: TargetDeps,
): Promise<{ targets: LoadBalancerTarget[]; targetGroups: number }> {
  const cluster = await deps.clusters.get(input.cluster);
  const groups = cluster.controlPlaneTargetGroupArns ?? [];
  const targets: LoadBalancerTarget[] = [];
  for (const arn of groups) {
    const mine = (await deps.targetGroups.describe(arn))
      .filter((t) => isNodeTarget(t, input.node) && t.state !== 'unused')
      .map((t) => ({ targetGroupArn: arn, id: t.id, ...(t.port !== undefined ? { port: t.port } : {}) }));
    if (mine.length === 0) continue;
    await deps.targetGroups.deregister(
      arn,
      mine.map((t) => ({ id: t.id, ...(t.port !== undefined ? { port: t.port } : {}) })),
    );
    targets.push(...mine);
  }
  return { targets, targetGroups: groups.length };
}
