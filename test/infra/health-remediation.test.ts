import { Validations } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { HEALTH_METRICS, METRICS, METRICS_NAMESPACE } from '../../functions/shared/domain/metrics';
import { summarizeProbe } from '../../functions/shared/domain/health';
import { buildStacks, CONFIG, roleStatements, templateFor } from './build';
import { loggedFields, type FunctionLines } from '../support/logged-fields';

// the example-like deployment, with remediation on for prod-eu
const { app, stacks } = buildStacks({
  ...CONFIG,
  clusters: CONFIG.clusters.map((c) =>
    c.name === 'prod-eu'
      ? {
          ...c,
          remediation: { alarms: [{ namePrefix: 'team-prod-', route: 'disk-pressure' }] },
          // patching on: the dashboard's per-worker patch table is read too
          patching: {},
        }
      : c,
  ),
});
const eu = templateFor(stacks, 'eu-west-1');

type MetricRef = { namespace: string; name: string; dimensions: string[] };

/** every metric an alarm of the template reads (single metric and metric math) */
function alarmMetrics(t: Template): MetricRef[] {
  return Object.values(t.findResources('AWS::CloudWatch::Alarm')).flatMap((a) => {
    const p = a.Properties as Record<string, unknown>;
    const dims = (d: unknown) => ((d as { Name: string }[] | undefined) ?? []).map((x) => x.Name).sort();
    if (p.MetricName)
      return [{ namespace: String(p.Namespace), name: String(p.MetricName), dimensions: dims(p.Dimensions) }];
    return (
      (p.Metrics as {
        MetricStat?: { Metric: { Namespace: string; MetricName: string; Dimensions?: unknown } };
      }[]) ?? []
    )
      .filter((m) => m.MetricStat)
      .map((m) => ({
        namespace: m.MetricStat!.Metric.Namespace,
        name: m.MetricStat!.Metric.MetricName,
        dimensions: dims(m.MetricStat!.Metric.Dimensions),
      }));
  });
}

/** the dashboard body as JSON: tokens (ARNs, names) become "X" */
function dashboardBody(t: Template): { widgets: { properties: { metrics?: unknown[][] } }[] } {
  const [dash] = Object.values(t.findResources('AWS::CloudWatch::Dashboard'));
  const body = (dash!.Properties as { DashboardBody: unknown }).DashboardBody;
  const parts = (body as { 'Fn::Join': [string, unknown[]] })['Fn::Join']?.[1] ?? [body];
  return JSON.parse(parts.map((p) => (typeof p === 'string' ? p : 'X')).join(''));
}

/** every Caretaker-namespace metric a widget reads: [namespace, name, dimName, dimValue, …, {options}] */
function widgetMetrics(t: Template): MetricRef[] {
  return dashboardBody(t).widgets.flatMap((w) =>
    (w.properties.metrics ?? [])
      .filter((m) => typeof m[0] === 'string' && typeof m[1] === 'string' && m[0] !== '...')
      .map((m) => {
        const fields = m.filter((x) => typeof x === 'string') as string[];
        const dims: string[] = [];
        for (let i = 2; i + 1 < fields.length; i += 2) dims.push(fields[i]!);
        return { namespace: fields[0]!, name: fields[1]!, dimensions: dims.sort() };
      }),
  );
}

describe('the metrics contract: code, alarms and dashboard agree', () => {
  const read = [...alarmMetrics(eu), ...widgetMetrics(eu)].filter((m) => m.namespace === METRICS_NAMESPACE);

  it('reads only metrics the code emits, with the same namespace, name and dimensions', () => {
    expect(read.length).toBeGreaterThan(0);
    for (const m of read) {
      expect(METRICS[m.name]).toBeDefined();
      expect(m.dimensions).toEqual([...METRICS[m.name]!.dimensions].sort());
    }
  });

  it('reads every metric the code emits (none is paid for and never looked at)', () => {
    expect([...new Set(read.map((m) => m.name))].sort()).toEqual(Object.keys(METRICS).sort());
  });

  it('has the probe emit every catalogued metric from a full result', () => {
    const { values } = summarizeProbe(
      {
        instanceId: 'i-0000000000000000',
        etcd: {
          error: '',
          membersTotal: 1,
          members: [
            {
              endpoint: 'e',
              memberId: '1',
              healthy: true,
              isLeader: true,
              dbSize: 1,
              dbSizeInUse: 1,
              raftTerm: 2,
              errors: '[]',
            },
          ],
          alarms: [],
        },
        kubernetes: { error: '', nodesTotal: 1, notReady: [], diskPressure: [], apiServers: [], workers: [] },
      },
      100,
      { newestAgeSeconds: 1, verifiedAgeSeconds: 2 },
    );
    expect(
      Object.keys(values)
        .filter((k) => Object.hasOwn(METRICS, k))
        .sort(),
    ).toEqual(Object.keys(HEALTH_METRICS).sort());
  });
});

/** the dashboard body as JSON with every `{ Ref: id }` kept as `@@id@@` (other tokens "X") */
function dashboardBodyWithRefs(t: Template): {
  widgets: { type: string; properties: { title?: string; query?: string } }[];
} {
  const [dash] = Object.values(t.findResources('AWS::CloudWatch::Dashboard'));
  const body = (dash!.Properties as { DashboardBody: unknown }).DashboardBody;
  const parts = (body as { 'Fn::Join': [string, unknown[]] })['Fn::Join']?.[1] ?? [body];
  return JSON.parse(
    parts
      .map((p) =>
        typeof p === 'string' ? p : (p as { Ref?: string }).Ref ? `@@${(p as { Ref: string }).Ref}@@` : 'X',
      )
      .join(''),
  );
}

/** log group logical id → the function (folder name) that writes to it */
function logGroupWriters(t: Template): Map<string, string> {
  const writers = new Map<string, string>();
  for (const fn of Object.values(t.findResources('AWS::Lambda::Function'))) {
    const p = fn.Properties as { Description?: string; LoggingConfig?: { LogGroup?: { Ref?: string } } };
    const ref = p.LoggingConfig?.LogGroup?.Ref;
    const name = /^Caretaker (\S+)$/.exec(p.Description ?? '')?.[1];
    if (ref && name) writers.set(ref, name);
  }
  return writers;
}

const QUERY_WORDS = new Set(
  [
    'fields',
    'filter',
    'stats',
    'sort',
    'limit',
    'display',
    'parse',
    'dedup',
    'by',
    'as',
    'and',
    'or',
    'not',
  ].concat(['asc', 'desc', 'like', 'in', 'SOURCE']),
);

/**
 * The log fields a Logs Insights query reads: its identifiers, less the commands, keywords,
 * functions (a name before "("), aliases (a name after "as"), @-fields, numbers and literals.
 */
export function queriedFields(query: string): string[] {
  const text = query.replace(/'[^']*'/g, ' ').replace(/"[^"]*"/g, ' ');
  const aliases = new Set([...text.matchAll(/\bas\s+([A-Za-z_][\w.]*)/g)].map((m) => m[1]!));
  const fields = new Set<string>();
  for (const m of text.matchAll(/(?<![@\w.])([A-Za-z_][\w.]*)(\s*\()?/g)) {
    const [, name, call] = m;
    if (call || QUERY_WORDS.has(name!) || aliases.has(name!)) continue;
    fields.add(name!);
  }
  return [...fields].sort();
}

describe('the log contract: every Logs Insights widget reads fields its functions really log', () => {
  const body = dashboardBodyWithRefs(eu);
  const writers = logGroupWriters(eu);
  const logWidgets = body.widgets.filter((w) => w.type === 'log');
  let logged: Record<string, FunctionLines>;

  beforeAll(async () => {
    logged = await loggedFields();
  });

  it('finds the query fields of a query', () => {
    expect(
      queriedFields(
        "SOURCE 'g' | filter cluster = 'prod-eu' and ispresent(NodePatchSeconds)\n| stats latest(@timestamp) as lastPatched, latest(PackagesChanged) as packages by node, instanceId\n| sort lastPatched asc",
      ),
    ).toEqual(['NodePatchSeconds', 'PackagesChanged', 'cluster', 'instanceId', 'node']);
  });

  it('has the log widgets the issue asks for: snapshot size and RTO, days since each worker was patched, last patch per worker', () => {
    const titles = logWidgets.map((w) => w.properties.title);
    expect(titles).toEqual(
      expect.arrayContaining([
        'prod-eu: snapshot size, last verification and its RTO (log fields)',
        'prod-eu: days since each worker was patched (newest probe)',
        'prod-eu: last patch of each worker (record-patch)',
      ]),
    );
  });

  it('queries, in each log widget, only fields that the functions writing to its log groups log', () => {
    expect(logWidgets.length).toBeGreaterThan(0);
    for (const w of logWidgets) {
      const sources = [...w.properties.query!.matchAll(/SOURCE '@@([^@]+)@@'/g)].map((m) =>
        writers.get(m[1]!),
      );
      expect(sources.length).toBeGreaterThan(0);
      for (const s of sources) expect(logged[s!]).toBeDefined();
      const available = new Set(sources.flatMap((s) => [...logged[s!]!.fields]));
      const missing = queriedFields(w.properties.query!).filter((f) => !available.has(f));
      expect({ widget: w.properties.title, missing }).toEqual({ widget: w.properties.title, missing: [] });
    }
  });

  it('has each catalogued metric published only by the function the catalog names', () => {
    for (const [fn, lines] of Object.entries(logged)) {
      for (const name of lines.published)
        expect({ name, by: fn }).toEqual({ name, by: METRICS[name]!.publishedBy });
    }
  });
});

describe('health probe and remediation in the stack', () => {
  it('probes each etcd cluster on its schedule', () => {
    eu.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [Match.objectLike({ Input: JSON.stringify({ cluster: 'prod-eu' }) })],
    });
  });

  it('names the routed alarms so route-alarm finds the runbook', () => {
    for (const name of ['etcd-db-size', 'etcd-member-unhealthy', 'node-notready', 'stale-backup']) {
      eu.hasResourceProperties('AWS::CloudWatch::Alarm', { AlarmName: `caretaker.prod-eu.${name}` });
    }
    eu.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'caretaker.prod-eu.etcd-raft-term',
      Metrics: Match.arrayWith([Match.objectLike({ Expression: 'DIFF(term)' })]),
      Threshold: 3,
    });
  });

  it('sends alarm state changes to ALARM, by the Caretaker prefix, configured prefixes or tags, to route-alarm', () => {
    eu.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.cloudwatch'],
        'detail-type': ['CloudWatch Alarm State Change'],
        detail: {
          state: { value: ['ALARM'] },
          $or: [
            { alarmName: [{ prefix: 'caretaker.' }, { prefix: 'team-prod-' }] },
            { alarmTags: { 'caretaker:route': [{ exists: true }] } },
          ],
        },
      },
    });
  });

  it('lets the probe send only its own document, to control-plane nodes of configured clusters', () => {
    const statements = roleStatements(eu, /HealthProbeRole/);
    const sends = statements.filter(
      (s) =>
        s.Action === 'ssm:SendCommand' || (Array.isArray(s.Action) && s.Action.includes('ssm:SendCommand')),
    );
    expect(sends.map((s) => s.Sid).sort()).toEqual([
      'SendHealthProbeToControlPlaneNodes',
      'SendTheProbeDocument',
    ]);
    expect(JSON.stringify(sends)).not.toMatch(/worker/);
  });

  it('lets route-alarm start only the remediate state machine', () => {
    const starts = roleStatements(eu, /RouteAlarmRole/).filter((s) =>
      JSON.stringify(s.Action).includes('states:StartExecution'),
    );
    expect(starts).toHaveLength(1);
    expect(JSON.stringify(starts[0]!.Resource)).toMatch(/Remediate/);
  });

  it('builds one dashboard per deployment', () => {
    eu.resourceCountIs('AWS::CloudWatch::Dashboard', 1);
  });
});

describe('node-notready in the stack: reboot and replace only what carries the cluster tag', () => {
  const statements = () => roleStatements(eu, /RecoverNodeRole/);
  const withAction = (action: string) =>
    statements().filter((s) => ([] as string[]).concat(s.Action as string | string[]).includes(action));

  it('lets recover-node reboot only instances tagged with a cluster that has remediation on', () => {
    const [reboot, ...more] = withAction('ec2:RebootInstances');
    expect(more).toHaveLength(0);
    expect(reboot).toMatchObject({
      Sid: 'RebootOnlyTheClustersInstances',
      Effect: 'Allow',
      Action: 'ec2:RebootInstances',
      Condition: { StringEquals: { 'aws:ResourceTag/caretaker:cluster': ['prod-eu'] } },
    });
    expect(JSON.stringify(reboot!.Resource)).toMatch(/:instance\/\*/);
  });

  it('lets recover-node terminate (for replacement) only in Auto Scaling groups tagged with the cluster', () => {
    const [terminate, ...more] = withAction('autoscaling:TerminateInstanceInAutoScalingGroup');
    expect(more).toHaveLength(0);
    expect(terminate).toMatchObject({
      Sid: 'ReplaceOnlyInTheClustersGroups',
      Condition: { StringEquals: { 'aws:ResourceTag/caretaker:cluster': ['prod-eu'] } },
    });
    expect(JSON.stringify(terminate!.Resource)).toMatch(/autoScalingGroup:\*:autoScalingGroupName\/\*/);
    // no other way to stop or change an instance
    const actions = statements().flatMap((s) => ([] as string[]).concat(s.Action as string | string[]));
    expect(actions.filter((a) => /Terminate|Stop|Delete|Update|SetDesired/.test(a))).toEqual([
      'autoscaling:TerminateInstanceInAutoScalingGroup',
    ]);
  });

  it('lets plan-node-remediation read the node inventory under <cluster>/remediation/ only', () => {
    const reads = roleStatements(eu, /PlanNodeRemediationRole/).filter((s) => s.Action === 's3:GetObject');
    expect(reads).toHaveLength(1);
    expect(JSON.stringify(reads[0]!.Resource)).toMatch(/\/prod-eu\/remediation\/\*"/);
    expect(
      roleStatements(eu, /PlanNodeRemediationRole/).some((s) => JSON.stringify(s.Action).includes('s3:Put')),
    ).toBe(false);
  });

  it("lets the control-plane nodes write node-inventory's list under <cluster>/remediation/ only", () => {
    const [policy] = Object.values(eu.findResources('AWS::IAM::ManagedPolicy')).filter((p) =>
      String((p.Properties as { ManagedPolicyName?: string }).ManagedPolicyName).endsWith('-node-prod-eu'),
    );
    const statements = (
      policy!.Properties as {
        PolicyDocument: { Statement: { Sid?: string; Action: unknown; Resource: unknown }[] };
      }
    ).PolicyDocument.Statement;
    const write = statements.find((s) => s.Sid === 'WriteNodeInventoryForRemediation');
    expect(write?.Action).toBe('s3:PutObject');
    expect(JSON.stringify(write?.Resource)).toMatch(/\/prod-eu\/remediation\/\*"/);
  });

  it('wires both functions into the remediate state machine', () => {
    const [, machine] = Object.entries(eu.findResources('AWS::StepFunctions::StateMachine')).find(([id]) =>
      id.startsWith('Remediate'),
    )!;
    const subs = JSON.stringify(
      (machine!.Properties as { DefinitionSubstitutions: unknown }).DefinitionSubstitutions,
    );
    expect(subs).toMatch(/PlanNodeRemediationFunctionArn/);
    expect(subs).toMatch(/RecoverNodeFunctionArn/);
  });

  it('passes cdk-nag with remediation on (every acknowledgement with its reason)', () => {
    app.synth();
    const report = new AwsSolutionsChecks().validateScope(app);
    const findings = report.violations.map(
      (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
    const acks = app.node
      .findAll()
      .filter((c) => /RecoverNode|PlanNodeRemediation/.test(c.node.path))
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY));
    expect(acks.length).toBeGreaterThan(0);
  });
});
