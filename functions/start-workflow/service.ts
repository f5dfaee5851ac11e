import type { WorkflowStarter } from '../shared/adapters/aws/sfn-workflow-starter';
import { executionName } from '../shared/domain/execution-name';
import { parseInput } from '../shared/domain/validation';
import { InvalidInputError, NotForThisKindError } from '../shared/errors';
import type { ClusterDirectory } from '../shared/ports';
import { workflowNamed } from '../shared/workflows';

export interface StartWorkflowDeps {
  clusters: ClusterDirectory;
  starter: WorkflowStarter;
  /** workflow name → state machine ARN */
  stateMachines: Record<string, string>;
}

export interface StartWorkflowInput {
  cluster: string;
  workflow: string;
  /** the trigger's time: the schedule's scheduled time, or when a person asked */
  scheduledTime: string;
  /** who asked: `schedule`, `cli`, `slack:<user>` */
  requestedBy?: string;
  /** the trigger's own id (a Slack request); kept in the execution name */
  requestId?: string;
  /** the workflow's own fields (dryRun, a target version, a snapshot key), checked by its schema */
  input?: Record<string, unknown>;
}

/**
 * Starts a workflow for a cluster under a name derived from the trigger's time (and request id),
 * so a schedule delivered twice, or a retried request, starts one execution. The execution
 * input is checked by the workflow's own schema before anything starts.
 * @throws ClusterNotFoundError, NotForThisKindError (an EKS workflow on another kind, an etcd
 *   workflow on EKS), InvalidInputError for a workflow this deployment does not have
 *   or an input its schema refuses (naming the field).
 */
export async function startWorkflow(input: StartWorkflowInput, deps: StartWorkflowDeps) {
  const workflow = workflowNamed(input.workflow);
  // own properties only: `constructor` is no deployed workflow
  const arn = Object.hasOwn(deps.stateMachines, input.workflow)
    ? deps.stateMachines[input.workflow]
    : undefined;
  if (!workflow || !arn) {
    throw new InvalidInputError(
      `workflow: "${input.workflow}" is not deployed here (have: ${Object.keys(deps.stateMachines).join(', ') || 'none'})`,
    );
  }
  const executionInput = parseInput(
    workflow.input,
    {
      ...input.input,
      cluster: input.cluster,
      ...(input.requestedBy !== undefined && { requestedBy: input.requestedBy }),
      ...(input.requestId !== undefined && { requestId: input.requestId }),
    },
    `${workflow.name} input`,
  );
  const cluster = await deps.clusters.get(input.cluster);
  // an EKS workflow on a kubeadm cluster (or the reverse) is refused before it starts
  if (workflow.onlyFor && !workflow.onlyFor.includes(cluster.kind)) {
    throw new NotForThisKindError(
      `cluster: ${input.cluster} is a ${cluster.kind} cluster; ${workflow.name} works on ${workflow.onlyFor.join(', ')} clusters only. Nothing was started.`,
    );
  }
  if (workflow.needsEtcd && cluster.kind === 'eks') {
    throw new NotForThisKindError(
      `cluster: ${input.cluster} is an EKS cluster: AWS runs its etcd, so ${workflow.name} does not apply. Nothing was started.`,
    );
  }
  const name = executionName(workflow.name, input.cluster, new Date(input.scheduledTime), input.requestId);
  const started = await deps.starter.start(arn, name, executionInput);
  return { ...started, name };
}
