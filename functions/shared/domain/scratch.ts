import { CLUSTER_TAG, EXPIRES_TAG, ROLE_TAG, SCRATCH_ROLE } from './config';

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
