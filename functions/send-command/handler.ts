import * as z from '../shared/zod';
import { dynamoCommandTokenStore } from '../shared/adapters/aws/dynamo-command-token-store';
import { ec2Inventory } from '../shared/adapters/aws/ec2-inventory';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { ssmCommandRunner } from '../shared/adapters/aws/ssm-command-runner';
import { commandName } from '../shared/domain/commands';
import { clusterName, executionId, instanceId } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { sendCommand, type SendCommandDeps } from './service';

export const input = z.object({
  taskToken: z.string().min(1).max(8192),
  cluster: clusterName,
  /** the node the command runs on */
  instanceId,
  /** the node the command is about (kubectl drain runs on a control-plane node about a worker) */
  subject: instanceId.optional(),
  command: commandName,
  executionId,
  /** the asking ASL state's name, written as a literal in the Payload */
  state: z.string().min(1).max(80),
  /** what one command needs beyond the cluster's config, checked by that command's args schema */
  args: z.record(z.string(), z.unknown()).optional(),
});

export const makeHandler = (deps: DepsSource<SendCommandDeps>) =>
  createHandler({ name: 'send-command', input, run: sendCommand }, deps);

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
  inventory: ec2Inventory(),
  runner: ssmCommandRunner(undefined, JSON.parse(requireEnv('DOCUMENT_VERSIONS')) as Record<string, string>),
  tokens: dynamoCommandTokenStore(requireEnv('CARETAKER_TABLE')),
  clock: { now: () => new Date() },
  documents: JSON.parse(requireEnv('DOCUMENTS')) as Record<string, string>,
  bucket: requireEnv('SNAPSHOT_BUCKET'),
}));
