import * as z from '../shared/zod';
import { elbv2TargetGroups } from '../shared/adapters/aws/elbv2-target-groups';
import { clusterName } from '../shared/domain/schemas';
import { loadBalancerTarget } from '../shared/domain/target-schema';
import { createHandler, type DepsSource } from '../shared/handler';
import type { TargetGroups } from '../shared/ports';
import { registerTargets } from './service';

export const input = z.object({ cluster: clusterName, targets: z.array(loadBalancerTarget).max(20) });

export const makeHandler = (deps: DepsSource<{ targetGroups: TargetGroups }>) =>
  createHandler({ name: 'register-targets', input, run: registerTargets }, deps);

export const handler = makeHandler(() => ({ targetGroups: elbv2TargetGroups() }));
