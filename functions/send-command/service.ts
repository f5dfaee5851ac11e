import { planCommand, type CommandName } from '../shared/domain/commands';
import { scratchTags } from '../shared/domain/scratch';
import { InvalidInputError } from '../shared/errors';
import type { Clock, ClusterDirectory, CommandRunner, CommandTokenStore, Inventory } from '../shared/ports';

export interface SendCommandDeps {
  clusters: ClusterDirectory;
  inventory: Inventory;
  runner: CommandRunner;
  tokens: CommandTokenStore;
  clock: Clock;
  /** logical command name → the deployed SSM document name */
  documents: Record<string, string>;
  bucket: string;
}

/** a node that is briefly unreachable still gets the command within this time */
export const DELIVERY_TIMEOUT_SECONDS = 300;
/** how long past delivery and execution the reconciler waits before it calls a command lost */
const DEADLINE_GRACE_SECONDS = 300;

/**
 * Sends one of Caretaker's documents to one node of the cluster and parks the task token until
 * complete-command (or the reconciler) reports the outcome.
 * @throws ClusterNotFoundError, InvalidInputError when the instance is not a live node of the cluster
 */
export async function sendCommand(
  input: {
    taskToken: string;
    cluster: string;
    instanceId: string;
    command: CommandName;
    executionId: string;
    args?: { key?: string };
  },
  deps: SendCommandDeps,
) {
  const cluster = await deps.clusters.get(input.cluster);
  const plan = planCommand(input.command, cluster, {
    executionId: input.executionId,
    bucket: deps.bucket,
    snapshotKey: input.args?.key,
  });
  const documentName = deps.documents[plan.command];
  if (!documentName) throw new InvalidInputError(`command: no SSM document is deployed for ${plan.command}`);

  // look again instead of trusting the state: the node must still be a live node of the kind
  // the command is for (a restore never runs on a cluster member, a snapshot never on scratch)
  const tags = plan.target === 'scratch' ? scratchTags(cluster.name) : cluster.controlPlaneTags;
  const live = await deps.inventory.findManagedInstances(tags);
  if (!live.some((i) => i.instanceId === input.instanceId)) {
    throw new InvalidInputError(
      `instanceId: ${input.instanceId} is not a running, SSM-managed ${plan.target} node of ${cluster.name}`,
    );
  }

  const { commandId } = await deps.runner.send({
    documentName,
    instanceId: input.instanceId,
    parameters: plan.parameters,
    deliveryTimeoutSeconds: DELIVERY_TIMEOUT_SECONDS,
    comment: `caretaker ${plan.command} ${cluster.name}`,
  });
  const now = deps.clock.now();
  await deps.tokens.put({
    commandId,
    instanceId: input.instanceId,
    taskToken: input.taskToken,
    cluster: cluster.name,
    command: plan.command,
    sentAt: now.toISOString(),
    deadline: new Date(
      now.getTime() +
        (DELIVERY_TIMEOUT_SECONDS + plan.executionTimeoutSeconds + DEADLINE_GRACE_SECONDS) * 1000,
    ).toISOString(),
  });
  return { commandId };
}
