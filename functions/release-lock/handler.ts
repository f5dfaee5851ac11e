import * as z from '../shared/zod';
import { dynamoLockStore } from '../shared/adapters/aws/dynamo-lock-store';
import { clusterName, executionId } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { releaseLock, type LockDeps } from '../acquire-lock/service';

export const input = z.object({ cluster: clusterName, owner: executionId });

export const makeHandler = (deps: DepsSource<Pick<LockDeps, 'locks'>>) =>
  createHandler({ name: 'release-lock', input, run: releaseLock }, deps);

export const handler = makeHandler(() => ({ locks: dynamoLockStore(requireEnv('CARETAKER_TABLE')) }));
