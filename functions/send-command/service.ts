import { createHash } from 'node:crypto';
import {
  assertForKind,
  commandDeadlineSeconds,
  commandSpec,
  parseCommandArgs,
  type NodeKind,
} from '../shared/domain/commands';
import type { ClusterConfig } from '../shared/domain/config';
import { scratchTags } from '../shared/domain/scratch';
import { InvalidInputError, TransientError } from '../shared/errors';
import type {
  Clock,
  ClusterDirectory,
  CommandIntent,
  CommandRunner,
  CommandTokenStore,
  Inventory,
} from '../shared/ports';

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

export interface SendCommandInput {
  taskToken: string;
  cluster: string;
  /** the node the command runs on */
  instanceId: string;
  /** the node the command is about; the node it runs on when omitted */
  subject?: string;
  command: string;
  executionId: string;
  /** the ASL state that asks: with the execution and the subject, it names the intent */
  state: string;
  args?: Record<string, unknown>;
}

/**
 * An unsent claim younger than this may belong to an attempt that is still sending (a Lambda
 * runs at most this long), so it is waited for; an older one was abandoned.
 */
export const INTENT_SETTLE_SECONDS = 120;

/** the intent's id: one per execution, state and subject */
export function intentId(executionId: string, state: string, subject: string): string {
  return createHash('sha256').update(`${executionId}\n${state}\n${subject}`).digest('hex');
}

/** what the SSM command's comment carries so a later attempt can find it (ListCommands) */
export const intentMarker = (id: string) => `ci-${id.slice(0, 20)}`;

/**
 * Sends one of Caretaker's documents to one node of the cluster, at most once per execution,
 * state and subject, and parks the task token until complete-command (or the reconciler)
 * reports the outcome.
 * @throws InvalidInputError (bad args, before any AWS call; a node that is not a live node of the
 *   right kind), ClusterNotFoundError, NotForThisKindError, TransientError (an earlier attempt
 *   is still sending)
 */
export async function sendCommand(input: SendCommandInput, deps: SendCommandDeps) {
  const spec = commandSpec(input.command);
  const args = parseCommandArgs(spec, input.cluster, input.args);
  const subject = input.subject ?? input.instanceId;
  if (spec.subject === 'self' && subject !== input.instanceId) {
    throw new InvalidInputError(`subject: ${spec.name} is about the node it runs on (${input.instanceId})`);
  }
  const documentName = deps.documents[spec.name];
  if (!documentName) throw new InvalidInputError(`command: no SSM document is deployed for ${spec.name}`);

  const cluster = await deps.clusters.get(input.cluster);
  assertForKind(spec, cluster);
  const parameters = spec.parameters(cluster, args, { executionId: input.executionId, bucket: deps.bucket });

  // look again instead of trusting the state: the node must still be a live node of the kind
  // the command runs on, and the node it is about one of the kind it is about
  await requireLive(deps.inventory, cluster, spec.target, input.instanceId, 'instanceId');
  if (spec.subject !== 'self') await requireLive(deps.inventory, cluster, spec.subject, subject, 'subject');

  const now = deps.clock.now();
  const intent: CommandIntent = {
    id: intentId(input.executionId, input.state, subject),
    executionId: input.executionId,
    state: input.state,
    subject,
    command: spec.name,
    instanceId: input.instanceId,
    cluster: cluster.name,
    claimedAt: now.toISOString(),
  };
  const marker = intentMarker(intent.id);
  const send = async () => {
    const { commandId } = await deps.runner.send({
      documentName,
      instanceId: input.instanceId,
      parameters,
      deliveryTimeoutSeconds: spec.deliveryTimeoutSeconds,
      comment: `caretaker ${spec.name} ${cluster.name} ${marker}`,
    });
    await deps.tokens.recordSent(intent.id, commandId);
    return commandId;
  };
  /** the send of an attempt that died before recording it, if SSM has it */
  const findEarlier = async (previous: CommandIntent) => {
    const since = new Date(Date.parse(previous.claimedAt) - 60_000);
    const found = await deps.runner.findSent(input.instanceId, marker, since);
    if (found) await deps.tokens.recordSent(intent.id, found.commandId);
    return found?.commandId;
  };

  const claim = await deps.tokens.claim(
    intent,
    new Date(now.getTime() - INTENT_SETTLE_SECONDS * 1000).toISOString(),
  );
  let commandId: string;
  switch (claim.outcome) {
    case 'new':
      commandId = await send();
      break;
    case 'sent':
      commandId = claim.commandId;
      break;
    case 'taken-over':
      commandId = (await findEarlier(claim.previous)) ?? (await send());
      break;
    case 'in-flight': {
      const found = await findEarlier(claim.previous);
      if (!found) {
        throw new TransientError(
          `${spec.name} about ${subject}: an earlier attempt claimed it at ${claim.previous.claimedAt} and has not sent it yet; not sending twice`,
        );
      }
      commandId = found;
      break;
    }
  }

  // parked under this attempt's token: a retried Task waits on the new one
  await deps.tokens.put({
    commandId,
    instanceId: input.instanceId,
    taskToken: input.taskToken,
    cluster: cluster.name,
    command: spec.name,
    sentAt: now.toISOString(),
    deadline: new Date(now.getTime() + commandDeadlineSeconds(spec) * 1000).toISOString(),
  });
  return { commandId, duplicate: claim.outcome !== 'new' };
}

function tagsOf(cluster: ClusterConfig, kind: Exclude<NodeKind, 'node'>): Record<string, string> {
  if (kind === 'scratch') return scratchTags(cluster.name);
  return kind === 'worker' ? cluster.workerTags : cluster.controlPlaneTags;
}

async function requireLive(
  inventory: Inventory,
  cluster: ClusterConfig,
  kind: NodeKind,
  instanceId: string,
  field: string,
): Promise<void> {
  const kinds: Exclude<NodeKind, 'node'>[] = kind === 'node' ? ['control-plane', 'worker'] : [kind];
  for (const k of kinds) {
    const live = await inventory.findManagedInstances(tagsOf(cluster, k));
    if (live.some((i) => i.instanceId === instanceId)) return;
  }
  throw new InvalidInputError(
    `${field}: ${instanceId} is not a running, SSM-managed ${kind === 'node' ? 'node' : `${kind} node`} of ${cluster.name}`,
  );
}
