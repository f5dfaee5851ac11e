import { createHash } from 'node:crypto';
import { CLUSTER_TAG, EXPIRES_TAG, ROLE_TAG, SCRATCH_ROLE } from './config';

/**
 * How long restore-verify waits for a new scratch instance to come Online in SSM: it checks this
 * many times, SCRATCH_READY_CHECK_SECONDS apart (the Wait state in restore-verify.asl.json), about
 * 15 minutes in all; the count travels in the execution's state.
 */
export const SCRATCH_READY_MAX_CHECKS = 60;
export const SCRATCH_READY_CHECK_SECONDS = 15;

/** the tags that make an instance one of the cluster's scratch instances */
export function scratchTags(cluster: string): Record<string, string> {
  return { [CLUSTER_TAG]: cluster, [ROLE_TAG]: SCRATCH_ROLE };
}

/** the tags a new scratch instance is launched with: who it belongs to and when it must go */
export function scratchLaunchTags(
  cluster: string,
  execution: string,
  expiresAt: Date,
): Record<string, string> {
  return {
    ...scratchTags(cluster),
    [EXPIRES_TAG]: expiresAt.toISOString(),
    'caretaker:execution': execution.slice(0, 256),
    Name: `caretaker-scratch-${cluster}`,
  };
}

/** a scratch instance is past its expiry when the tag says so, or has no readable expiry */
export function isExpired(tags: Record<string, string>, now: Date): boolean {
  if (tags[ROLE_TAG] !== SCRATCH_ROLE) return false;
  const at = Date.parse(tags[EXPIRES_TAG] ?? '');
  return Number.isNaN(at) || at <= now.getTime();
}

/**
 * RunInstances' idempotency token for one execution's scratch instance: a hash of the whole
 * execution id, so a retried launch returns the same instance and two executions never share a
 * token (cutting the execution name to EC2's 64 characters made long cluster names collide).
 */
export function scratchClientToken(executionId: string): string {
  return `caretaker-scratch-${createHash('sha256').update(executionId).digest('hex').slice(0, 40)}`;
}
