import * as z from '../shared/zod';
import { dynamoCommandTokenStore } from '../shared/adapters/aws/dynamo-command-token-store';
import { ec2Inventory } from '../shared/adapters/aws/ec2-inventory';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { ssmCommandRunner } from '../shared/adapters/aws/ssm-command-runner';
import { clusterName, commandName, executionId, instanceId } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { sendCommand, type SendCommandDeps } from './service';

export const input = z.object({
  taskToken: z.string().min(1).max(8192),
  cluster: clusterName,
  instanceId,
  command: commandName,
  executionId,
  /** what one command needs beyond the cluster's config: the snapshot a restore checks */
  args: z
    .object({ key: z.string().max(1024).optional() })
    .strict()
    .optional(),
});

export const makeHandler = (deps: DepsSource<SendCommandDeps>) =>
  createHandler({ name: 'send-command', input, run: sendCommand }, deps);

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
  inventory: ec2Inventory(),
  runner: ssmCommandRunner(),
  tokens: dynamoCommandTokenStore(requireEnv('CARETAKER_TABLE')),
  clock: { now: () => new Date() },
  documents: JSON.parse(requireEnv('DOCUMENTS')) as Record<string, string>,
  bucket: requireEnv('SNAPSHOT_BUCKET'),
}));
