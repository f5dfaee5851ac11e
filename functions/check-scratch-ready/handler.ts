import * as z from '../shared/zod';
import { ec2Inventory } from '../shared/adapters/aws/ec2-inventory';
import { ec2ScratchFleet } from '../shared/adapters/aws/ec2-scratch-fleet';
import { clusterName, instanceId } from '../shared/domain/schemas';
import { createHandler, type DepsSource } from '../shared/handler';
import type { Inventory, ScratchFleet } from '../shared/ports';
import { checkScratchReady } from './service';

// checks: how many checks came before this one (the state machine counts them)
export const input = z.object({
  cluster: clusterName,
  instanceId,
  checks: z.number().int().min(0).optional(),
});

export const makeHandler = (deps: DepsSource<{ inventory: Inventory; fleet: ScratchFleet }>) =>
  createHandler({ name: 'check-scratch-ready', input, run: checkScratchReady }, deps);

export const handler = makeHandler(() => ({ inventory: ec2Inventory(), fleet: ec2ScratchFleet() }));
