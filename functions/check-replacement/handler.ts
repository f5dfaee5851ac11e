import * as z from '../shared/zod';
import { ec2NodeReplacer } from '../shared/adapters/aws/ec2-node-replacer';
import { clusterName, instanceId } from '../shared/domain/schemas';
import { loadBalancerTarget } from '../shared/domain/target-schema';
import { createHandler, type DepsSource } from '../shared/handler';
import type { NodeReplacer } from '../shared/ports';
import { checkReplacement } from './service';

// checks: how many checks came before this one (the state machine counts them)
export const input = z.object({
  cluster: clusterName,
  group: z.string().regex(/^[\w.:/@-]{1,255}$/, 'must be an Auto Scaling group name'),
  replaced: instanceId,
  before: z.array(instanceId).max(100),
  targets: z.array(loadBalancerTarget).max(20),
  checks: z.number().int().min(0).optional(),
  maxChecks: z.number().int().min(1).max(1000),
});

export const makeHandler = (deps: DepsSource<{ nodes: NodeReplacer }>) =>
  createHandler({ name: 'check-replacement', input, run: checkReplacement }, deps);

export const handler = makeHandler(() => ({ nodes: ec2NodeReplacer() }));
