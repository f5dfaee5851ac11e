import {
  defragOrder,
  judgeAttempt,
  memberToRestart,
  nodesToAct,
  quorumAllowsRestart,
  quorumOf,
  unhealthyShareAllows,
  type MemberHealth,
} from '../../../functions/shared/domain/remediation';

const limits = { cooldownMinutes: 60, maxAttemptsPerDay: 2 };
const at = (iso: string) => new Date(iso);

function members(healthy: boolean[], leader = 0): MemberHealth[] {
  return healthy.map((h, i) => ({
    instanceId: `i-000000000000000${i}`,
    memberId: `${100 + i}`,
    healthy: h,
    isLeader: i === leader,
  }));
}

describe('judgeAttempt (cooldown and attempts per day)', () => {
  it('allows the first attempt', () => {
    expect(judgeAttempt(undefined, at('2026-11-30T03:00:00Z'), limits)).toEqual({
      allowed: true,
      attempt: 1,
    });
  });

  it('refuses a second attempt inside the cooldown, saying when the next may start', () => {
    const verdict = judgeAttempt(
      { lastAttemptAt: '2026-11-30T03:00:00.000Z', day: '2026-11-30', attemptsToday: 1 },
      at('2026-11-30T03:59:59Z'),
      limits,
    );
    expect(verdict).toEqual({
      allowed: false,
      rule: 'cooldown',
      message: expect.stringContaining(
        'the next may start after 2026-11-30T04:00:00.000Z (cooldownMinutes 60)',
      ),
    });
  });

  it('allows the next attempt once the cooldown is over, counting it', () => {
    expect(
      judgeAttempt(
        { lastAttemptAt: '2026-11-30T03:00:00Z', day: '2026-11-30', attemptsToday: 1 },
        at('2026-11-30T04:00:00Z'),
        limits,
      ),
    ).toEqual({ allowed: true, attempt: 2 });
  });

  it('refuses past maxAttemptsPerDay, naming the rule', () => {
    const verdict = judgeAttempt(
      { lastAttemptAt: '2026-11-30T03:00:00Z', day: '2026-11-30', attemptsToday: 2 },
      at('2026-11-30T09:00:00Z'),
      limits,
    );
    expect(verdict).toMatchObject({ allowed: false, rule: 'max-attempts-per-day' });
    if (!verdict.allowed)
      expect(verdict.message).toMatch(/^max-attempts-per-day: 2 attempts today \(2026-11-30 UTC\)/);
  });

  it('starts counting again on the next UTC day', () => {
    expect(
      judgeAttempt(
        { lastAttemptAt: '2026-11-30T23:30:00Z', day: '2026-11-30', attemptsToday: 2 },
        at('2026-12-01T00:45:00Z'),
        limits,
      ),
    ).toEqual({ allowed: true, attempt: 1 });
  });
});

describe('quorumAllowsRestart', () => {
  it('needs a majority', () => {
    expect([1, 2, 3, 4, 5].map(quorumOf)).toEqual([1, 2, 2, 3, 3]);
  });

  it('allows restarting the one unhealthy member of three', () => {
    expect(quorumAllowsRestart(members([true, true, false]), 'i-0000000000000002')).toEqual({ ok: true });
  });

  it('refuses when the others alone would not hold quorum', () => {
    const verdict = quorumAllowsRestart(members([true, false, false]), 'i-0000000000000002');
    expect(verdict).toEqual({
      ok: false,
      rule: 'quorum',
      message:
        'quorum: only 1 of the other members are healthy and a cluster of 3 needs 2; restarting i-0000000000000002 could lose quorum',
    });
  });

  it('refuses to restart a healthy member of a three-member cluster with one other down', () => {
    expect(quorumAllowsRestart(members([true, true, false]), 'i-0000000000000000')).toMatchObject({
      ok: false,
      rule: 'quorum',
    });
  });

  it('refuses a target that is not a member', () => {
    expect(quorumAllowsRestart(members([true, true, false]), 'i-00000000000000ff')).toMatchObject({
      ok: false,
    });
  });
});

describe('memberToRestart', () => {
  it('finds the single unhealthy member when the alarm names none', () => {
    expect(memberToRestart(members([true, false, true]))).toMatchObject({
      target: { instanceId: 'i-0000000000000001' },
    });
  });

  it('finds nothing to do when the named member is healthy again', () => {
    expect(memberToRestart(members([true, true, true]), '101')).toEqual({
      none: 'member 101 is healthy again; nothing to do',
    });
  });

  it('leaves two unhealthy members to a person', () => {
    expect(memberToRestart(members([true, false, false]))).toMatchObject({
      none: expect.stringMatching(/^2 members are unhealthy/),
    });
  });
});

describe('defragOrder', () => {
  it('puts the followers first and the leader last', () => {
    const result = defragOrder(members([true, true, true], 1));
    expect('order' in result && result.order.map((m) => m.memberId)).toEqual(['100', '102', '101']);
  });

  it('refuses while any member is unhealthy', () => {
    expect(defragOrder(members([true, false, true]))).toMatchObject({
      ok: false,
      rule: 'every-member-healthy',
    });
  });
});

describe('unhealthyShareAllows', () => {
  it('allows one NotReady node of ten under 30 %', () => {
    expect(unhealthyShareAllows(10, 1, 30)).toEqual({ ok: true });
  });

  it('allows exactly the configured share', () => {
    expect(unhealthyShareAllows(10, 3, 30)).toEqual({ ok: true });
  });

  it('refuses above the share: an outage for a person, not a node problem', () => {
    expect(unhealthyShareAllows(10, 4, 30)).toEqual({
      ok: false,
      rule: 'unhealthy-share',
      message:
        'unhealthy-share: 4 of 10 nodes (40%) are NotReady, more than maxUnhealthyPercent 30; that is an outage for a person, not a node problem',
    });
  });

  it('refuses for a cluster with no nodes', () => {
    expect(unhealthyShareAllows(0, 0, 30)).toMatchObject({ ok: false });
  });
});

describe('nodesToAct', () => {
  it('never takes more than maxAtOnce, the alarm-named node first', () => {
    expect(nodesToAct(['a', 'b', 'c'], 2, 'c')).toEqual(['c', 'a']);
    expect(nodesToAct(['a', 'b', 'c'], 1)).toEqual(['a']);
  });
});
