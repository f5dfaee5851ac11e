import * as z from '../shared/zod';
import { ec2NodeReplacer } from '../shared/adapters/aws/ec2-node-replacer';
import { clusterName, instanceId } from '../shared/domain/schemas';
import { createHandler, type DepsSource } from '../shared/handler';
import { recoverNode, type RecoverNodeDeps } from './service';

export const input = z.object({
  cluster: clusterName,
  instanceId,
  action: z.enum(['reboot', 'replace']),
});

export const makeHandler = (deps: DepsSource<RecoverNodeDeps>) =>
  createHandler({ name: 'recover-node', input, run: recoverNode }, deps);

export const handler = makeHandler(() => ({ replacer: ec2NodeReplacer() }));
