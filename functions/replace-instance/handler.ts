import * as z from '../shared/zod';
import { ec2NodeReplacer } from '../shared/adapters/aws/ec2-node-replacer';
import { clusterName, instanceId } from '../shared/domain/schemas';
import { createHandler, type DepsSource } from '../shared/handler';
import type { NodeReplacer } from '../shared/ports';
import { replaceInstance } from './service';

export const input = z.object({ cluster: clusterName, instanceId });

export const makeHandler = (deps: DepsSource<{ nodes: NodeReplacer }>) =>
  createHandler({ name: 'replace-instance', input, run: replaceInstance }, deps);

export const handler = makeHandler(() => ({ nodes: ec2NodeReplacer() }));
