import * as z from '../shared/zod';
import { dynamoLockStore } from '../shared/adapters/aws/dynamo-lock-store';
import { clusterName, executionId } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { acquireLock, type LockDeps } from './service';

export const input = z.object({
  cluster: clusterName,
  owner: executionId,
  operation: z.string().regex(/^[a-z][a-z-]{1,40}$/, 'must be a workflow name such as etcd-backup'),
  leaseSeconds: z.number().int().min(60).max(86_400),
});

export const makeHandler = (deps: DepsSource<LockDeps>) =>
  createHandler({ name: 'acquire-lock', input, run: acquireLock }, deps);

export const handler = makeHandler(() => ({
  locks: dynamoLockStore(requireEnv('CARETAKER_TABLE')),
  clock: { now: () => new Date() },
}));
