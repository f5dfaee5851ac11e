import type { WorkflowStarter } from '../shared/adapters/aws/sfn-workflow-starter';
import { executionName } from '../shared/domain/execution-name';
import { InvalidInputError } from '../shared/errors';
import type { ClusterDirectory } from '../shared/ports';

export interface StartWorkflowDeps {
  clusters: ClusterDirectory;
  starter: WorkflowStarter;
  /** workflow name → state machine ARN */
  stateMachines: Record<string, string>;
}

/**
 * Starts a workflow for a cluster under a name derived from the trigger's time, so a schedule
 * delivered twice starts one execution.
 * @throws ClusterNotFoundError, InvalidInputError for a workflow this deployment does not have.
 */
export async function startWorkflow(
  input: { cluster: string; workflow: string; scheduledTime: string },
  deps: StartWorkflowDeps,
) {
  const arn = deps.stateMachines[input.workflow];
  if (!arn) {
    throw new InvalidInputError(
      `workflow: "${input.workflow}" is not deployed here (have: ${Object.keys(deps.stateMachines).join(', ') || 'none'})`,
    );
  }
  await deps.clusters.get(input.cluster);
  const name = executionName(input.workflow, input.cluster, new Date(input.scheduledTime));
  const started = await deps.starter.start(arn, name, { cluster: input.cluster });
  return { ...started, name };
}
