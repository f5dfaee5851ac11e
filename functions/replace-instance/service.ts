import { launchTemplateProblem } from '../shared/domain/kops-replacement';
import { InvalidInputError, PreflightRefusedError } from '../shared/errors';
import type { NodeReplacer } from '../shared/ports';

/**
 * kops: terminates a control-plane instance in its instance group's Auto Scaling group without
 * lowering the desired capacity, so the group launches the replacement. Refuses an instance that
 * already runs the group's launch template version (nothing to roll). Returns the group's
 * instances before the termination, so check-replacement knows which instance is new.
 * @throws InvalidInputError (not the cluster's, or no group), PreflightRefusedError (up to date)
 */
export async function replaceInstance(
  input: { cluster: string; instanceId: string },
  deps: { nodes: NodeReplacer },
) {
  const group = await deps.nodes.groupOf(input.cluster, input.instanceId);
  if (!group) {
    throw new InvalidInputError(
      `instanceId: ${input.instanceId} belongs to no Auto Scaling group; kops control-plane instances are replaced through their instance group's`,
    );
  }
  const before = group.instances.map((i) => i.instanceId);
  // a retried call after the termination: the group is already replacing it
  const own = group.instances.find((i) => i.instanceId === input.instanceId);
  if (own?.lifecycleState.startsWith('Terminating')) {
    return {
      instanceId: input.instanceId,
      group: group.name,
      launchTemplate: group.launchTemplate ?? '',
      before,
    };
  }
  const problem = launchTemplateProblem(group, input.instanceId);
  if (problem) throw new PreflightRefusedError(problem);
  const done = await deps.nodes.replace(input.cluster, input.instanceId);
  if (!done.replaced) {
    throw new InvalidInputError(
      `instanceId: ${input.instanceId} left its Auto Scaling group before the replacement`,
    );
  }
  return {
    instanceId: input.instanceId,
    group: group.name,
    launchTemplate: group.launchTemplate ?? '',
    before,
  };
}
