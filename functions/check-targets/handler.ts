import * as z from '../shared/zod';
import { elbv2TargetGroups } from '../shared/adapters/aws/elbv2-target-groups';
import { clusterName } from '../shared/domain/schemas';
import { loadBalancerTarget } from '../shared/domain/target-schema';
import { createHandler, type DepsSource } from '../shared/handler';
import type { TargetGroups } from '../shared/ports';
import { checkTargets } from './service';

// checks: how many checks came before this one (the state machine counts them)
export const input = z.object({
  cluster: clusterName,
  targets: z.array(loadBalancerTarget).max(20),
  want: z.enum(['out', 'in']),
  checks: z.number().int().min(0).optional(),
});

export const makeHandler = (deps: DepsSource<{ targetGroups: TargetGroups }>) =>
  createHandler({ name: 'check-targets', input, run: checkTargets }, deps);

export const handler = makeHandler(() => ({ targetGroups: elbv2TargetGroups() }));
