import { judgeReplacement } from '../shared/domain/kops-replacement';
import type { LoadBalancerTarget, NodeReplacer } from '../shared/ports';

/**
 * One check of a kops replacement: the Auto Scaling group as it is now, judged by the domain
 * (kops-replacement.ts): the new instance InService and Healthy, its Node name and its targets.
 */
export async function checkReplacement(
  input: {
    cluster: string;
    group: string;
    replaced: string;
    before: string[];
    targets: LoadBalancerTarget[];
    checks?: number;
    maxChecks: number;
  },
  deps: { nodes: NodeReplacer },
) {
  const group = await deps.nodes.describeGroup(input.cluster, input.group);
  return judgeReplacement({ ...input, group });
}
