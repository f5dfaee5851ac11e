import { pickMember, type MemberStatus } from '../../../functions/shared/domain/member-selection';
import { EtcdUnhealthyError } from '../../../functions/shared/errors';

const member = (instanceId: string, over: Partial<MemberStatus> = {}): MemberStatus => ({
  instanceId,
  healthy: true,
  reason: '',
  memberId: `${instanceId}-id`,
  isLeader: false,
  revision: 100,
  dbSize: 1024,
  version: '3.5.15',
  alarms: [],
  ...over,
});

describe('pickMember', () => {
  it('prefers a healthy follower with the highest revision over the leader', () => {
    const picked = pickMember([
      member('i-00000000000000001', { isLeader: true, revision: 120 }),
      member('i-00000000000000002', { revision: 110 }),
      member('i-00000000000000003', { revision: 115 }),
    ]);
    expect(picked).toMatchObject({ instanceId: 'i-00000000000000003', revision: 115, isLeader: false });
    expect(picked.reason).toMatch(/healthy follower at revision 115/);
  });

  it('skips unhealthy members and members whose status command failed', () => {
    const picked = pickMember([
      member('i-00000000000000001', { healthy: false, reason: 'alarm NOSPACE', revision: 999 }),
      { instanceId: 'i-00000000000000002', error: { Error: 'CommandTimedOutError', Cause: 'no answer' } },
      member('i-00000000000000003', { revision: 10 }),
    ]);
    expect(picked.instanceId).toBe('i-00000000000000003');
    expect(picked.reason).toMatch(/2 unhealthy member/);
  });

  it('falls back to the leader when no follower is healthy', () => {
    const picked = pickMember([
      member('i-00000000000000001', { isLeader: true }),
      member('i-00000000000000002', { healthy: false, reason: 'unreachable' }),
    ]);
    expect(picked).toMatchObject({ instanceId: 'i-00000000000000001', isLeader: true });
    expect(picked.reason).toMatch(/leader is the only healthy member/);
  });

  it('breaks ties by instance id, so the choice does not depend on order', () => {
    const a = member('i-00000000000000002');
    const b = member('i-00000000000000001');
    expect(pickMember([a, b]).instanceId).toBe(pickMember([b, a]).instanceId);
  });

  it('fails with EtcdUnhealthyError naming every member and its reason when none is healthy', () => {
    const act = () =>
      pickMember([
        member('i-00000000000000001', { healthy: false, reason: 'endpoint health failed' }),
        { instanceId: 'i-00000000000000002', error: { Error: 'CommandFailedError', Cause: 'exit 2' } },
      ]);
    expect(act).toThrow(EtcdUnhealthyError);
    expect(act).toThrow(
      /i-00000000000000001: endpoint health failed; i-00000000000000002: CommandFailedError \(exit 2\)/,
    );
  });

  it('fails with EtcdUnhealthyError when no member was checked', () => {
    expect(() => pickMember([])).toThrow(/no members were checked/);
  });
});
