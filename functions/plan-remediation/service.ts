import {
  defragOrder,
  memberToRestart,
  quorumAllowsRestart,
  type MemberHealth,
} from '../shared/domain/remediation';
import type * as z from '../shared/zod';
import type { memberFailure, memberStatus } from '../shared/domain/schemas';

type Status = z.output<typeof memberStatus> | z.output<typeof memberFailure>;

/** where an escalation sends the person: the by-hand member replacement */
export const MEMBER_REPLACEMENT_RUNBOOK = 'docs/runbooks/remediate.md#replacing-an-etcd-member-by-hand';

/** a member whose status command failed counts as unhealthy */
export function toHealth(statuses: readonly Status[]): MemberHealth[] {
  return statuses.map((s) =>
    'error' in s
      ? { instanceId: s.instanceId, memberId: '', healthy: false, isLeader: false }
      : { instanceId: s.instanceId, memberId: s.memberId, healthy: s.healthy, isLeader: s.isLeader },
  );
}

/**
 * etcd-status calls a member with a raised alarm unhealthy (etcd 3.5+'s `endpoint health` does
 * too). For the db-size runbook NOSPACE is the very thing it repairs: a member that answers and
 * whose only problems are NOSPACE alarms passes its health gate. Anything else (CORRUPT, no
 * leader, unreachable, a failed status command) still forbids the defragmentation.
 */
export function healthyButForNospace(s: Status): boolean {
  if ('error' in s) return false;
  if (s.healthy) return true;
  // each problem etcd-status found, `; `-separated; on a full cluster every one names NOSPACE
  // (the failed health check's "Active Alarm(s): NOSPACE", the member's errors, the alarm list)
  const problems = s.reason.split('; ').filter((p) => p.trim() !== '');
  const alarms = s.alarms.map((a) => a.trim());
  return (
    alarms.length > 0 &&
    alarms.every((a) => a === 'NOSPACE') &&
    problems.length > 0 &&
    problems.every((p) => p.includes('NOSPACE') && !/CORRUPT|no leader|unreachable/.test(p))
  );
}

export type PlanInput =
  | { cluster: string; step: 'defrag'; statuses: Status[] }
  | { cluster: string; step: 'restart'; statuses: Status[]; named?: string }
  | { cluster: string; step: 'check-restart'; statuses: Status[]; target: string };

/**
 * The runbooks' decisions from the members' live status (never from the alarm's old numbers):
 * - defrag: the order (followers first, leader last), or the rule that forbids it
 * - restart: the member to restart and whether the others hold quorum
 * - check-restart: whether the restarted member is healthy again; if not, the escalation names
 *   the member-replacement runbook (Caretaker never replaces a member itself)
 * `act: false` carries `rule` (or `nothing`) and a message for the escalation or the report.
 */
export function planRemediation(input: PlanInput) {
  const members = toHealth(input.statuses);
  const describe = (m: MemberHealth) => `${m.instanceId}${m.isLeader ? ' (leader)' : ''}`;
  switch (input.step) {
    case 'defrag': {
      const result = defragOrder(
        members.map((m, i) => ({ ...m, healthy: healthyButForNospace(input.statuses[i]!) })),
      );
      if (!('order' in result)) return { act: false, ...result, wouldDo: [] as string[] };
      const wouldDo = [
        'compact the keyspace to the current revision',
        ...result.order.map((m) => `defragment ${describe(m)}, then wait until every member answers`),
        'disarm NOSPACE if every database is back under 80% of the quota',
      ];
      return { act: true, order: result.order.map((m) => ({ instanceId: m.instanceId })), wouldDo };
    }
    case 'restart': {
      const found = memberToRestart(members, input.named);
      if ('none' in found) return { act: false, nothing: true, message: found.none, wouldDo: [] as string[] };
      const quorum = quorumAllowsRestart(members, found.target.instanceId);
      if (!quorum.ok)
        return { act: false, ...quorum, target: found.target.instanceId, wouldDo: [] as string[] };
      return {
        act: true,
        target: found.target.instanceId,
        wouldDo: [`restart the etcd member on ${describe(found.target)}, then check it is healthy again`],
      };
    }
    case 'check-restart': {
      const m = members.find((x) => x.instanceId === input.target);
      if (m?.healthy)
        return { healthy: true, message: `the etcd member on ${input.target} is healthy again` };
      return {
        healthy: false,
        rule: 'member-stays-unhealthy',
        message: `member-stays-unhealthy: the etcd member on ${input.target} is still unhealthy after its restart; replace it by hand: ${MEMBER_REPLACEMENT_RUNBOOK}`,
      };
    }
  }
}
