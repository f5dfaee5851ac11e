import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseAlarmEvent } from '../../../functions/shared/domain/alarm-event';
import { parseConfig } from '../../../functions/shared/domain/config';
import { routeAlarm, type RoutableCluster } from '../../../functions/shared/domain/remediation';
import { InvalidInputError } from '../../../functions/shared/errors';

/** an event sample, loose enough for a test to break one field */
type Ev = Record<string, unknown> & {
  detail: {
    alarmName?: string;
    state: { value?: string; reasonData?: string };
    configuration: { metrics?: { metricStat?: { metric: { namespace?: string } } }[] };
  };
};

const sample = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(join(__dirname, '../../../events/aws.cloudwatch', `${name}.json`), 'utf8'));

function clusters(remediation: Record<string, unknown> = {}): RoutableCluster[] {
  return parseConfig({
    clusters: [
      { name: 'prod-eu', kind: 'kubeadm', region: 'eu-west-1', remediation },
      { name: 'staging', kind: 'kubeadm', region: 'eu-west-1' },
    ],
  }).clusters;
}

describe('parseAlarmEvent', () => {
  it('reads a single-metric alarm: its metric, dimensions and state', () => {
    const e = parseAlarmEvent(sample('single-metric-alarm'));
    expect(e).toMatchObject({
      eventId: 'c4c1c1c9-6542-e61b-6ef0-8c4d36933a92',
      alarmName: 'caretaker.prod-eu.etcd-db-size',
      kind: 'single-metric',
      state: 'ALARM',
      metrics: [{ namespace: 'Caretaker', name: 'EtcdDbUsedPercent', dimensions: { cluster: 'prod-eu' } }],
      triggeringAlarms: [],
    });
  });

  it('reads a metric-math alarm: the expression is not a metric, its inputs are', () => {
    const e = parseAlarmEvent(sample('metric-math-alarm'));
    expect(e.kind).toBe('metric-math');
    expect(e.metrics).toEqual([
      { namespace: 'Caretaker', name: 'EtcdRaftTerm', dimensions: { cluster: 'prod-eu' } },
    ]);
  });

  it('reads a composite alarm: no metrics, the children that fired it from reasonData', () => {
    const e = parseAlarmEvent(sample('composite-alarm'));
    expect(e.kind).toBe('composite');
    expect(e.metrics).toEqual([]);
    expect(e.triggeringAlarms).toEqual(['caretaker.prod-eu.etcd-members-unhealthy']);
  });

  it('reads propagated alarm tags', () => {
    expect(parseAlarmEvent(sample('single-metric-instance-alarm')).tags).toEqual({
      'caretaker:cluster': 'prod-eu',
      'caretaker:route': 'disk-pressure',
    });
  });

  it.each([
    ['no detail', (e: Record<string, unknown>) => delete e.detail, /detail/],
    [
      'another detail-type',
      (e: Record<string, unknown>) => (e['detail-type'] = 'EC2 Instance State-change Notification'),
      /detail-type/,
    ],
    ['another source', (e: Record<string, unknown>) => (e.source = 'aws.ec2'), /source/],
    ['an unknown state', (e: Ev) => (e.detail.state.value = 'BROKEN'), /detail\.state\.value/],
    ['no alarm name', (e: Ev) => delete e.detail.alarmName, /detail\.alarmName/],
    [
      'neither metrics nor alarmRule',
      (e: Ev) => delete e.detail.configuration.metrics,
      /neither metrics .* nor alarmRule/,
    ],
    [
      'a metric entry with neither metricStat nor expression',
      (e: Ev) => delete e.detail.configuration.metrics![0]!.metricStat,
      /metrics\[0\]: needs a metricStat or an expression/,
    ],
    [
      'a metricStat without a namespace',
      (e: Ev) => delete e.detail.configuration.metrics![0]!.metricStat!.metric.namespace,
      /metricStat\.metric\.namespace/,
    ],
    [
      'a bad account',
      (e: Record<string, unknown>) => (e.account = 'me'),
      /account: must be a 12-digit account id/,
    ],
  ])('rejects an event with %s, naming the field', (_what, mutate, message) => {
    const e = sample('single-metric-alarm');
    mutate(e as Ev);
    expect(() => parseAlarmEvent(e)).toThrow(InvalidInputError);
    expect(() => parseAlarmEvent(e)).toThrow(message);
  });

  it('rejects a composite alarm whose reasonData is not JSON', () => {
    const e = sample('composite-alarm') as Ev;
    e.detail.state.reasonData = 'not json';
    expect(() => parseAlarmEvent(e)).toThrow(/detail\.state\.reasonData/);
  });

  it('rejects something that is not an object at all', () => {
    expect(() => parseAlarmEvent('ALARM')).toThrow(InvalidInputError);
  });
});

describe('routeAlarm', () => {
  it("routes a Caretaker alarm by its name to the cluster's runbook", () => {
    const decision = routeAlarm(parseAlarmEvent(sample('single-metric-alarm')), clusters());
    expect(decision).toMatchObject({
      action: 'start',
      cluster: 'prod-eu',
      route: 'etcd-db-size',
      settings: { enabled: true, dryRun: false, cooldownMinutes: 60, maxAttemptsPerDay: 3 },
    });
  });

  it('routes a composite alarm named like a Caretaker alarm', () => {
    expect(routeAlarm(parseAlarmEvent(sample('composite-alarm')), clusters())).toMatchObject({
      action: 'start',
      cluster: 'prod-eu',
      route: 'etcd-member-unhealthy',
    });
  });

  it("routes a user's alarm by tags and takes the instance from its dimensions", () => {
    expect(routeAlarm(parseAlarmEvent(sample('single-metric-instance-alarm')), clusters())).toEqual(
      expect.objectContaining({
        action: 'start',
        cluster: 'prod-eu',
        route: 'disk-pressure',
        instanceId: 'i-0a1b2c3d4e5f60011',
      }),
    );
  });

  it("routes a user's alarm by a configured name prefix", () => {
    const e = parseAlarmEvent(sample('unrouted-alarm'));
    const decision = routeAlarm(
      e,
      clusters({ alarms: [{ namePrefix: 'team-payments-', route: 'node-notready' }] }),
    );
    expect(decision).toMatchObject({ action: 'start', cluster: 'prod-eu', route: 'node-notready' });
  });

  it('ignores an alarm no route names, quietly', () => {
    expect(routeAlarm(parseAlarmEvent(sample('unrouted-alarm')), clusters())).toEqual({
      action: 'ignore',
      reason: 'alarm team-payments-latency is not routed to a runbook',
    });
  });

  it('ignores the way back to OK', () => {
    expect(routeAlarm(parseAlarmEvent(sample('single-metric-ok')), clusters())).toMatchObject({
      action: 'ignore',
      reason: 'state is OK, not ALARM',
    });
  });

  it('ignores a cluster without remediation, and a route switched off', () => {
    const e = parseAlarmEvent(sample('single-metric-alarm'));
    const off = parseConfig({
      clusters: [{ name: 'prod-eu', kind: 'kubeadm', region: 'eu-west-1' }],
    }).clusters;
    expect(routeAlarm(e, off)).toMatchObject({
      action: 'ignore',
      reason: 'remediation is off for cluster prod-eu',
    });
    expect(routeAlarm(e, clusters({ routes: { 'etcd-db-size': { enabled: false } } }))).toMatchObject({
      action: 'ignore',
      reason: 'route etcd-db-size is off for cluster prod-eu',
    });
  });

  it('ignores a Caretaker-named alarm for a cluster this deployment does not manage', () => {
    const e = sample('single-metric-alarm') as Ev;
    e.detail.alarmName = 'caretaker.elsewhere.etcd-db-size';
    expect(routeAlarm(parseAlarmEvent(e), clusters()).action).toBe('ignore');
  });

  it('hands the dry-run switch of the route (or the whole block) to the runbook', () => {
    const e = parseAlarmEvent(sample('single-metric-alarm'));
    expect(routeAlarm(e, clusters({ dryRun: true }))).toMatchObject({ settings: { dryRun: true } });
    expect(
      routeAlarm(e, clusters({ dryRun: true, routes: { 'etcd-db-size': { dryRun: false } } })),
    ).toMatchObject({
      settings: { dryRun: false },
    });
  });
});

describe('remediation config', () => {
  const parse = (remediation: unknown, kind = 'kubeadm') =>
    parseConfig({ clusters: [{ name: 'prod-eu', kind, region: 'eu-west-1', remediation }] });

  it('fills every default', () => {
    expect(parse({}).clusters[0]?.remediation).toMatchObject({
      enabled: true,
      maxNodesAtOnce: 1,
      maxUnhealthyPercent: 30,
      readyTimeoutMinutes: 10,
      alarms: [],
      routes: { 'stale-backup': { enabled: true, dryRun: false, cooldownMinutes: 30, maxAttemptsPerDay: 6 } },
    });
  });

  it.each([
    [
      { routes: { 'etcd-db-size': { cooldownMinutes: -1 } } },
      /remediation\.routes\.etcd-db-size\.cooldownMinutes/,
    ],
    [{ routes: { 'reboot-everything': {} } }, /remediation\.routes: Unrecognized key/],
    [{ alarms: [{ route: 'etcd-db-size' }] }, /remediation\.alarms\[0\]: give a namePrefix, a tag or both/],
    [{ alarms: [{ namePrefix: 'x', route: 'nope' }] }, /remediation\.alarms\[0\]\.route/],
    [{ maxUnhealthyPercent: 101 }, /remediation\.maxUnhealthyPercent/],
    [{ maxNodesAtOnce: 0 }, /remediation\.maxNodesAtOnce: must be at least 1/],
  ])('rejects %j naming the field', (block, message) => {
    expect(() => parse(block)).toThrow(message);
  });

  it('switches the etcd routes off on EKS and refuses to switch them on', () => {
    expect(parse({}, 'eks').clusters[0]?.remediation?.routes['etcd-db-size'].enabled).toBe(false);
    expect(() => parse({ routes: { 'stale-backup': { enabled: true } } }, 'eks')).toThrow(
      /remediation\.routes\.stale-backup\.enabled: not possible on EKS/,
    );
  });
});
