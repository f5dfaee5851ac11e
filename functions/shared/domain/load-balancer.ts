/**
 * Taking a control-plane node out of the API load balancer and back: which targets are the
 * node's, and when the wait for them is over. Pure: the ELBv2 calls are the adapter's.
 */

/** one check every LB_CHECK_SECONDS (the Wait state in the upgrade ASL) */
export const LB_CHECK_SECONDS = 10;
/**
 * deregistration waits for the target group's deregistration delay (ELBv2 default 300 s, kubeadm
 * guides set 30-60 s): 60 checks 10 s apart cover the default with room to spare
 */
export const LB_OUT_MAX_CHECKS = 60;
/** a re-registered API server passes its health checks in 2-3 intervals (10-30 s each): 5 minutes */
export const LB_IN_MAX_CHECKS = 30;

export type TargetWait = 'out' | 'in';

/** a target's health as DescribeTargetHealth reports it */
export interface TargetStateView {
  targetGroupArn: string;
  id: string;
  port?: number;
  state: string;
  reason?: string;
}

/**
 * Has the wait ended? `out`: every target is `unused` (draining over, not registered);
 * `in`: every target is `healthy`. No targets at all: nothing to wait for.
 */
export function targetsSettled(want: TargetWait, states: readonly TargetStateView[]): boolean {
  return states.every((s) => (want === 'out' ? s.state === 'unused' : s.state === 'healthy'));
}

/** `k8s-api/0123… i-0abc:6443 draining (Target.DeregistrationInProgress)` for messages */
export function describeTargetStates(states: readonly TargetStateView[]): string {
  return states
    .map((s) => {
      const group = s.targetGroupArn.split(':targetgroup/')[1]?.split('/')[0] ?? s.targetGroupArn;
      return `${group} ${s.id}${s.port ? `:${s.port}` : ''} ${s.state}${s.reason ? ` (${s.reason})` : ''}`;
    })
    .join('; ');
}

/** the node's targets among a group's: registered by instance id, or by its private IP (ip target type) */
export function isNodeTarget(
  target: { id: string },
  node: { instanceId: string; privateIp?: string },
): boolean {
  return target.id === node.instanceId || (node.privateIp !== undefined && target.id === node.privateIp);
}
