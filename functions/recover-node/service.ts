import type { NodeReplacer } from '../shared/ports';

export interface RecoverNodeDeps {
  replacer: NodeReplacer;
}

export type RecoverNodeInput =
  | { cluster: string; instanceId: string; action: 'reboot' }
  | { cluster: string; instanceId: string; action: 'replace' };

/**
 * One EC2 action on a NotReady worker's instance: reboot it, or terminate it in its Auto
 * Scaling group (capacity kept, so the group launches a replacement). `replaced: false` means
 * no group owns the instance and nothing was done. The port refuses an instance without the
 * cluster tag.
 * @throws InvalidInputError (not the cluster's instance), TransientError
 */
export async function recoverNode(input: RecoverNodeInput, deps: RecoverNodeDeps) {
  if (input.action === 'reboot') {
    await deps.replacer.reboot(input.cluster, input.instanceId);
    return { action: 'reboot' as const, instanceId: input.instanceId, rebooted: true };
  }
  const { replaced, group } = await deps.replacer.replace(input.cluster, input.instanceId);
  return {
    action: 'replace' as const,
    instanceId: input.instanceId,
    replaced,
    ...(group !== undefined && { group }),
  };
}
