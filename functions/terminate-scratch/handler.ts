import * as z from '../shared/zod';
import { ec2ScratchFleet } from '../shared/adapters/aws/ec2-scratch-fleet';
import { clusterName, instanceId } from '../shared/domain/schemas';
import { createHandler, type DepsSource } from '../shared/handler';
import type { ScratchFleet } from '../shared/ports';
import { terminateScratch } from './service';

export const input = z.object({ cluster: clusterName, instanceId });

export const makeHandler = (deps: DepsSource<{ fleet: ScratchFleet }>) =>
  createHandler({ name: 'terminate-scratch', input, run: terminateScratch }, deps);

export const handler = makeHandler(() => ({ fleet: ec2ScratchFleet() }));
