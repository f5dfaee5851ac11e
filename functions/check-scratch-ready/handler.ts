import * as z from '../shared/zod';
import { ec2Inventory } from '../shared/adapters/aws/ec2-inventory';
import { clusterName, instanceId } from '../shared/domain/schemas';
import { createHandler, type DepsSource } from '../shared/handler';
import type { Inventory } from '../shared/ports';
import { checkScratchReady } from './service';

export const input = z.object({ cluster: clusterName, instanceId });

export const makeHandler = (deps: DepsSource<{ inventory: Inventory }>) =>
  createHandler({ name: 'check-scratch-ready', input, run: checkScratchReady }, deps);

export const handler = makeHandler(() => ({ inventory: ec2Inventory() }));
