/**
 * A reboot of the fleet, as Kubernetes sees it: the Node goes NotReady (Unknown) when its
 * machine goes down and comes back Ready with the new boot id (status.nodeInfo.bootID). The
 * fleet emits both halves of every reboot; this turns them into what the kubelet and the
 * node-lifecycle controller would do to the Node (sandbox/kubernetes.ts nodeDown / nodeUp).
 */
import type { RebootEvent } from './nodes';

/** what a Kubernetes control plane offers for it (KubernetesCluster) */
export interface NodeLifecycle {
  nodeDown(name: string): Promise<void>;
  nodeUp(name: string, bootId: string): Promise<void>;
}

export interface FollowedReboots {
  /** failures to update a Node (each also went to `onError`) */
  readonly errors: Error[];
  /** waits until every update so far has been made */
  settle(): Promise<void>;
  /** stops following */
  stop(): void;
}

/**
 * Follows the reboots of `fleet` (LocalFleet or NodeSet) on `kubernetes`, one Node at a time in
 * the order they happened.
 */
export function followReboots(
  fleet: { onReboot(listener: (event: RebootEvent) => void): () => void },
  kubernetes: NodeLifecycle,
  onError: (error: Error) => void = () => undefined,
): FollowedReboots {
  const chains = new Map<string, Promise<void>>();
  const errors: Error[] = [];
  const unsubscribe = fleet.onReboot((event) => {
    const name = event.kubernetesNodeName;
    const step = () =>
      event.phase === 'down' ? kubernetes.nodeDown(name) : kubernetes.nodeUp(name, event.bootId ?? '');
    const next = (chains.get(name) ?? Promise.resolve()).then(step).catch((e: unknown) => {
      const error = new Error(`Node ${name} ${event.phase}: ${(e as Error).message}`);
      errors.push(error);
      onError(error);
    });
    chains.set(name, next);
  });
  return {
    errors,
    async settle() {
      await Promise.all([...chains.values()]);
    },
    stop: unsubscribe,
  };
}
