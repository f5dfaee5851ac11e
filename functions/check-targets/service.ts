import {
  describeTargetStates,
  LB_IN_MAX_CHECKS,
  LB_OUT_MAX_CHECKS,
  targetsSettled,
  type TargetStateView,
  type TargetWait,
} from '../shared/domain/load-balancer';
import type { LoadBalancerTarget, TargetGroups } from '../shared/ports';

/**
 * Has a node's traffic drained (`out`: every target `unused`) or come back (`in`: every target
 * `healthy`)? Not yet is an answer, not an error: the state machine waits and asks again, and
 * this check counts itself; the last allowed one that is still not settled says deadlineExpired.
 */
export async function checkTargets(
  input: { cluster: string; targets: LoadBalancerTarget[]; want: TargetWait; checks?: number },
  deps: { targetGroups: TargetGroups },
) {
  const checks = (input.checks ?? 0) + 1;
  const states: TargetStateView[] = [];
  const groups = [...new Set(input.targets.map((t) => t.targetGroupArn))];
  for (const arn of groups) {
    const mine = input.targets.filter((t) => t.targetGroupArn === arn);
    const seen = await deps.targetGroups.describe(
      arn,
      mine.map((t) => ({ id: t.id, ...(t.port !== undefined ? { port: t.port } : {}) })),
    );
    for (const t of mine) {
      const s = seen.find((x) => x.id === t.id && (t.port === undefined || x.port === t.port));
      states.push({ ...t, state: s?.state ?? 'unused', reason: s?.reason });
    }
  }
  const settled = targetsSettled(input.want, states);
  const max = input.want === 'out' ? LB_OUT_MAX_CHECKS : LB_IN_MAX_CHECKS;
  const deadlineExpired = !settled && checks >= max;
  const reason = settled
    ? ''
    : `${input.want === 'out' ? 'still draining' : 'not healthy yet'} after ${checks} check(s): ${describeTargetStates(states)}`;
  return { settled, deadlineExpired, checks, reason, states };
}
