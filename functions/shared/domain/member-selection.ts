import { EtcdUnhealthyError } from '../errors';

/** what the etcd-status document reports for one member */
export interface MemberStatus {
  instanceId: string;
  healthy: boolean;
  reason: string;
  memberId: string;
  memberName?: string;
  isLeader: boolean;
  revision: number;
  dbSize: number;
  version: string;
  alarms: string[];
}

/** a member whose status command itself failed or timed out */
export interface MemberFailure {
  instanceId: string;
  error: { Error: string; Cause?: string };
}

export interface PickedMember {
  instanceId: string;
  memberId: string;
  revision: number;
  isLeader: boolean;
  reason: string;
}

const isFailure = (s: MemberStatus | MemberFailure): s is MemberFailure => 'error' in s;

/** why a member cannot be used, for the error that names every member */
function describe(s: MemberStatus | MemberFailure): string {
  if (isFailure(s))
    return `${s.instanceId}: ${s.error.Error}${s.error.Cause ? ` (${s.error.Cause.slice(0, 200)})` : ''}`;
  return `${s.instanceId}: ${s.reason || 'unhealthy'}`;
}

/**
 * Chooses the member to snapshot: a healthy follower with the highest revision (a snapshot
 * streams the whole database, so it should not load the leader), the leader only when no
 * follower is healthy.
 * @throws EtcdUnhealthyError naming every member and why it was refused.
 */
export function pickMember(statuses: readonly (MemberStatus | MemberFailure)[]): PickedMember {
  const healthy = statuses.filter((s): s is MemberStatus => !isFailure(s) && s.healthy);
  if (healthy.length === 0) {
    const why = statuses.length === 0 ? 'no members were checked' : statuses.map(describe).join('; ');
    throw new EtcdUnhealthyError(`no healthy etcd member: ${why}`);
  }
  const ranked = [...healthy].sort(
    (a, b) =>
      Number(a.isLeader) - Number(b.isLeader) ||
      b.revision - a.revision ||
      a.instanceId.localeCompare(b.instanceId),
  );
  const best = ranked[0]!;
  const skipped = statuses.length - healthy.length;
  const reason = best.isLeader
    ? `the leader is the only healthy member (${skipped} unhealthy)`
    : `healthy follower at revision ${best.revision}` +
      (skipped > 0 ? ` (${skipped} unhealthy member(s) skipped)` : '');
  return {
    instanceId: best.instanceId,
    memberId: best.memberId,
    revision: best.revision,
    isLeader: best.isLeader,
    reason,
  };
}
