import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { executionName } from '../../functions/shared/domain/execution-name';
import { parseInput } from '../../functions/shared/domain/validation';
import { findCluster, loadConfig } from '../config';
import { CliError, UsageError, type CliDeps, type Io } from '../context';
import { json } from '../format';
import { arnRegion, StackLookup } from '../stack';
import type { WorkflowInfo } from '../workflows';
import { followExecution } from './follow';

export interface StartOptions {
  cluster: string;
  /** the workflow's own input fields, from its flags (`--key`) */
  input?: Record<string, unknown>;
  follow: boolean;
  json: boolean;
  region?: string;
  stateMachineArn?: string;
  config?: string;
}

/**
 * `caretaker <verb> <cluster>` (a verb of the workflow registry): starts the workflow for one
 * cluster under a name from executionName(…, 'cli') with the input its schema accepts, and
 * with --follow tails it to the end.
 * @throws CliError for a cluster not in the configuration (nothing is started) or a workflow
 *   that is not deployed; InvalidInputError for a bad configuration or an input the workflow's
 *   schema refuses (naming the field; nothing is started)
 */
export async function startWorkflow(
  io: Io,
  deps: CliDeps,
  workflow: WorkflowInfo,
  options: StartOptions,
): Promise<number> {
  if (options.follow && options.json)
    throw new UsageError(
      `${workflow.command}: --json prints the started execution; it cannot be combined with --follow`,
    );
  const { file, config } = loadConfig(io, deps, options.config);
  const cluster = findCluster(config, file, options.cluster);
  if (!cluster.etcd && workflow.etcd) {
    throw new CliError(
      `${cluster.name} is an EKS cluster: AWS runs its etcd, so the ${workflow.workflow} workflow does not apply`,
    );
  }
  if (workflow.onlyFor && !workflow.onlyFor.includes(cluster.kind)) {
    throw new CliError(
      `${cluster.name} is a ${cluster.kind} cluster: ${workflow.command} works on ${workflow.onlyFor.join(', ')} clusters only; nothing was started`,
    );
  }
  const input = parseInput(
    workflow.input,
    { ...options.input, cluster: cluster.name, requestedBy: 'cli' },
    `${workflow.workflow} input`,
  );
  const region = options.region ?? cluster.region;
  const stateMachineArn = await new StackLookup(region, io, deps).stateMachineArn(
    workflow,
    options.stateMachineArn,
  );
  const name = executionName(workflow.workflow, cluster.name, deps.now(), 'cli');
  const sfn = deps.sfn(arnRegion(stateMachineArn) ?? region);
  const started = await sfn.send(
    new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
  );
  const executionArn = started.executionArn!;
  if (options.json) {
    io.stdout.write(json({ executionArn, name, stateMachineArn, startDate: started.startDate }));
    return 0;
  }
  if (!options.follow) {
    io.stdout.write(`${executionArn}\n`);
    return 0;
  }
  io.stdout.write(`following ${workflow.workflow} of ${cluster.name} in ${region}\n`);
  return followExecution(io, deps, sfn, executionArn, started.startDate ?? deps.now());
}
