import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { claimAttempt } from '../../../functions/claim-attempt/service';
import { planRemediation } from '../../../functions/plan-remediation/service';
import { routeAlarmEvent } from '../../../functions/route-alarm/service';
import { parseConfig, type ClusterConfig } from '../../../functions/shared/domain/config';
import { judgeAttempt, type AttemptRecord } from '../../../functions/shared/domain/remediation';
import { InvalidInputError } from '../../../functions/shared/errors';
import type { RemediationLedger } from '../../../functions/shared/ports';
import { fixedClock, staticDirectory } from '../../support/fakes';

const sample = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(__dirname, '../../../events/aws.cloudwatch', `${name}.json`), 'utf8'));

function config(remediation: Record<string, unknown> | null = {}): ClusterConfig[] {
  return parseConfig({
    clusters: [
      { name: 'prod-eu', kind: 'kubeadm', region: 'eu-west-1', ...(remediation && { remediation }) },
    ],
  }).clusters;
}

function memoryLedger(): RemediationLedger & { records: Map<string, AttemptRecord>; claims: number } {
  const records = new Map<string, AttemptRecord>();
  const ledger = {
    records,
    claims: 0,
    read: async (c: string, r: string, res: string) => records.get(`${c}#${r}#${res}`),
    claim: async (req: Parameters<RemediationLedger['claim']>[0]) => {
      ledger.claims++;
      const key = `${req.cluster}#${req.route}#${req.resource}`;
      const verdict = judgeAttempt(records.get(key), req.now, req);
      if (verdict.allowed) {
        records.set(key, {
          lastAttemptAt: req.now.toISOString(),
          day: req.now.toISOString().slice(0, 10),
          attemptsToday: verdict.attempt,
        });
      }
      return verdict;
    },
  };
  return ledger;
}

function starter() {
  return {
    start: jest.fn(async (_arn: string, name: string, _input: unknown) => ({
      executionArn: `arn:exec:${name}`,
      duplicate: false,
    })),
  };
}

describe('routeAlarmEvent', () => {
  const deps = (clusters = config()) => ({
    clusters: async () => clusters,
    starter: starter(),
    stateMachineArn: 'arn:aws:states:eu-west-1:123456789012:stateMachine:remediate',
    log: jest.fn(),
  });

  it.each([
    ['single-metric-alarm', 'etcd-db-size', {}],
    ['metric-math-alarm', undefined, {}],
    ['composite-alarm', 'etcd-member-unhealthy', {}],
    ['single-metric-instance-alarm', 'disk-pressure', { instanceId: 'i-0a1b2c3d4e5f60011' }],
  ])('handles the documented %s shape', async (name, route, extra) => {
    const d = deps();
    const out = await routeAlarmEvent(sample(name), d);
    if (route === undefined) {
      // leader changes have no runbook: the alarm only notifies
      expect(out.started).toBe(false);
      expect(d.starter.start).not.toHaveBeenCalled();
      return;
    }
    expect(out).toMatchObject({ started: true, route, cluster: 'prod-eu' });
    const [arn, execName, input] = d.starter.start.mock.calls[0] as unknown as [
      string,
      string,
      Record<string, unknown>,
    ];
    expect(arn).toBe(d.stateMachineArn);
    expect(execName).toMatch(/^remediate-prod-eu-20261130T\d{6}Z-/);
    expect(input).toEqual({
      cluster: 'prod-eu',
      route,
      alarmName: (sample(name).detail as { alarmName: string }).alarmName,
      alarmTime: sample(name).time,
      requestedBy: 'alarm',
      requestId: sample(name).id,
      dryRun: false,
      ...extra,
    });
  });

  it('gives a redelivered event the same execution name, so nothing runs twice', async () => {
    const d = deps();
    await routeAlarmEvent(sample('single-metric-alarm'), d);
    await routeAlarmEvent(sample('single-metric-alarm'), d);
    const names = d.starter.start.mock.calls.map((c) => c[1]);
    expect(names[0]).toBe(names[1]);
  });

  it('ignores an unknown alarm quietly: one log line, nothing started', async () => {
    const d = deps();
    expect(await routeAlarmEvent(sample('unrouted-alarm'), d)).toEqual({
      started: false,
      reason: 'alarm team-payments-latency is not routed to a runbook',
    });
    expect(d.starter.start).not.toHaveBeenCalled();
    expect(d.log).toHaveBeenCalledWith(
      'alarm ignored',
      expect.objectContaining({ alarmName: 'team-payments-latency' }),
    );
  });

  it('ignores the way back to OK', async () => {
    const d = deps();
    expect((await routeAlarmEvent(sample('single-metric-ok'), d)).started).toBe(false);
    expect(d.starter.start).not.toHaveBeenCalled();
  });

  it.each([
    ['an empty object', {}],
    [
      'a composite with garbage reasonData',
      {
        ...sample('composite-alarm'),
        detail: {
          ...(sample('composite-alarm').detail as object),
          state: { value: 'ALARM', timestamp: 'x', reasonData: '{"triggeringAlarms":[{"arn":"nope"}]}' },
        },
      },
    ],
    [
      'an SSM event',
      JSON.parse(
        readFileSync(join(__dirname, '../../../events/aws.ssm/command-invocation-success.json'), 'utf8'),
      ),
    ],
  ])('rejects %s clearly and starts nothing', async (_what, event) => {
    const d = deps();
    await expect(routeAlarmEvent(event, d)).rejects.toThrow(InvalidInputError);
    expect(d.starter.start).not.toHaveBeenCalled();
  });

  it('passes the dry-run switch on to the execution', async () => {
    const d = deps(config({ dryRun: true }));
    await routeAlarmEvent(sample('single-metric-alarm'), d);
    expect(d.starter.start.mock.calls[0]?.[2]).toMatchObject({ dryRun: true });
  });
});

describe('claimAttempt', () => {
  const input = {
    cluster: 'prod-eu',
    route: 'etcd-db-size' as const,
    alarmName: 'caretaker.prod-eu.etcd-db-size',
  };

  it('counts the attempt and hands the route its lock scope', async () => {
    const ledger = memoryLedger();
    const out = await claimAttempt(input, {
      clusters: staticDirectory(config()),
      ledger,
      clock: fixedClock(),
    });
    expect(out).toMatchObject({
      allowed: true,
      attempt: 1,
      dryRun: false,
      scopes: ['control-plane'],
      resource: 'caretaker.prod-eu.etcd-db-size#prod-eu',
    });
    expect(ledger.records.size).toBe(1);
  });

  it('refuses inside the cooldown, naming the rule', async () => {
    const ledger = memoryLedger();
    const clock = fixedClock();
    const deps = { clusters: staticDirectory(config()), ledger, clock };
    await claimAttempt(input, deps);
    clock.set('2026-11-25T06:30:00.000Z');
    expect(await claimAttempt(input, deps)).toMatchObject({ allowed: false, rule: 'cooldown' });
  });

  it('judges a dry run without counting it', async () => {
    const ledger = memoryLedger();
    const out = await claimAttempt(
      { ...input, dryRun: true },
      { clusters: staticDirectory(config()), ledger, clock: fixedClock() },
    );
    expect(out).toMatchObject({ allowed: true, dryRun: true });
    expect(ledger.claims).toBe(0);
    expect(ledger.records.size).toBe(0);
  });

  it('rejects a cluster with remediation off', async () => {
    await expect(
      claimAttempt(input, {
        clusters: staticDirectory(config(null)),
        ledger: memoryLedger(),
        clock: fixedClock(),
      }),
    ).rejects.toThrow('cluster: remediation is off for prod-eu');
  });
});

describe('planRemediation', () => {
  const status = (i: number, healthy: boolean, isLeader = false) => ({
    instanceId: `i-000000000000000${i}`,
    healthy,
    reason: '',
    memberId: `${100 + i}`,
    isLeader,
    revision: 10,
    dbSize: 1000,
    version: '3.6.16',
    alarms: [],
  });
  const failed = (i: number) => ({
    instanceId: `i-000000000000000${i}`,
    error: { Error: 'CommandTimedOutError' },
  });

  it('orders the defragmentation followers first, leader last, and says what it would do', () => {
    const plan = planRemediation({
      cluster: 'prod-eu',
      step: 'defrag',
      statuses: [status(0, true, true), status(1, true), status(2, true)],
    });
    expect(plan).toMatchObject({
      act: true,
      order: [
        { instanceId: 'i-0000000000000001' },
        { instanceId: 'i-0000000000000002' },
        { instanceId: 'i-0000000000000000' },
      ],
    });
    expect(plan.wouldDo).toContain(
      'defragment i-0000000000000000 (leader), then wait until every member answers',
    );
  });

  it('defragments members whose only problem is the NOSPACE alarm it is there to clear', () => {
    // what etcd-status reports on a real cluster past its quota (sandbox remediate db-size)
    const nospace = (i: number, isLeader = false) => ({
      ...status(i, false, isLeader),
      reason:
        'health check failed: https://127.0.0.1:33431 is unhealthy: failed to commit proposal: Active Alarm(s): NOSPACE ; member reports errors: [memberID:11359455805741476013 alarm:NOSPACE ]; alarm NOSPACE  raised on member memberID:11359455805741476013',
      alarms: ['NOSPACE '],
    });
    expect(
      planRemediation({
        cluster: 'prod-eu',
        step: 'defrag',
        statuses: [nospace(0, true), nospace(1), nospace(2)],
      }),
    ).toMatchObject({ act: true, order: [{}, {}, { instanceId: 'i-0000000000000000' }] });
  });

  it.each([
    ['CORRUPT', { reason: 'alarm CORRUPT raised on member 1', alarms: ['CORRUPT'] }],
    [
      'NOSPACE and no leader',
      { reason: 'member sees no leader; alarm NOSPACE raised on member 1', alarms: ['NOSPACE'] },
    ],
    ['unreachable', { reason: 'etcd at https://127.0.0.1:2379 is unreachable: refused', alarms: [] }],
  ])('still refuses to defragment when a member is unhealthy for another reason: %s', (_, why) => {
    expect(
      planRemediation({
        cluster: 'prod-eu',
        step: 'defrag',
        statuses: [status(0, true, true), { ...status(1, false), ...why }, status(2, true)],
      }),
    ).toMatchObject({ act: false, rule: 'every-member-healthy' });
  });

  it('refuses to defragment when a member could not even report', () => {
    expect(
      planRemediation({
        cluster: 'prod-eu',
        step: 'defrag',
        statuses: [status(0, true, true), failed(1), status(2, true)],
      }),
    ).toMatchObject({
      act: false,
      rule: 'every-member-healthy',
    });
  });

  it('restarts the one unhealthy member when the others hold quorum', () => {
    expect(
      planRemediation({
        cluster: 'prod-eu',
        step: 'restart',
        statuses: [status(0, true, true), failed(1), status(2, true)],
      }),
    ).toMatchObject({
      act: true,
      target: 'i-0000000000000001',
    });
  });

  it('forbids the restart by the quorum rule when the others do not hold quorum', () => {
    expect(
      planRemediation({
        cluster: 'prod-eu',
        step: 'restart',
        statuses: [status(0, true, true), failed(1), status(2, false)],
        named: 'i-0000000000000001',
      }),
    ).toMatchObject({ act: false, rule: 'quorum' });
  });

  it('escalates with the member-replacement runbook when the member stays unhealthy', () => {
    const out = planRemediation({
      cluster: 'prod-eu',
      step: 'check-restart',
      statuses: [status(0, true, true), failed(1), status(2, true)],
      target: 'i-0000000000000001',
    });
    expect(out).toMatchObject({ healthy: false, rule: 'member-stays-unhealthy' });
    expect(out.message).toMatch(/docs\/runbooks\/remediate\.md#replacing-an-etcd-member-by-hand/);
  });
});
