import * as z from '../shared/zod';
import { dynamoLockStore } from '../shared/adapters/aws/dynamo-lock-store';
import { LOCK_SCOPES } from '../shared/domain/locks';
import { clusterName, executionId } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { acquireLock, type LockDeps } from './service';

export const input = z.object({
  cluster: clusterName,
  owner: executionId,
  operation: z.string().regex(/^[a-z][a-z-]{1,40}$/, 'must be a workflow name such as etcd-backup'),
  leaseSeconds: z.number().int().min(60).max(86_400),
  /** what the operation needs; every scope when omitted */
  scopes: z.array(z.enum(LOCK_SCOPES)).min(1).optional(),
  /** a nested execution works under its parent's lease: the parent's owner, from the input */
  parentOwner: executionId.optional(),
  /** renew our own lease before the next change instead of taking one */
  renew: z.boolean().optional(),
});

export const makeHandler = (deps: DepsSource<LockDeps>) =>
  createHandler({ name: 'acquire-lock', input, run: acquireLock }, deps);

export const handler = makeHandler(() => ({
  locks: dynamoLockStore(requireEnv('CARETAKER_TABLE')),
  clock: { now: () => new Date() },
}));
