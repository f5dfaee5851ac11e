import type { App } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import {
  buildStacks,
  CONFIG,
  deployedDefinition,
  roleStatements,
  templateFor,
  type Statement,
} from './build';

const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);
const withAction = (statements: Statement[], action: string) =>
  statements.filter((s) => actionsOf(s).includes(action));

/** CONFIG with blocker alarms on prod-eu */
const config = {
  ...CONFIG,
  clusters: CONFIG.clusters.map((c) =>
    c.name === 'prod-eu' ? { ...c, patching: { blockers: { alarms: ['api-5xx', 'etcd-latency'] } } } : c,
  ),
};

describe('the patch-workers workflow', () => {
  let eu: Template;
  let euApp: App;

  beforeAll(() => {
    const { app, stacks } = buildStacks(config);
    eu = templateFor(stacks, 'eu-west-1');
    euApp = app;
  });

  it('deploys the state machine with the Distributed Map reading the plan from S3', () => {
    const [machine] = Object.entries(eu.findResources('AWS::StepFunctions::StateMachine')).filter(([id]) =>
      id.startsWith('PatchWorkersStateMachine'),
    );
    expect(machine?.[1].Properties).toMatchObject({
      StateMachineType: 'STANDARD',
      TracingConfiguration: { Enabled: true },
    });
    const definition = deployedDefinition(euApp, machine![1]);
    expect(definition).toContain('arn:aws:states:::s3:getObject');
    expect(definition).toContain('MaxConcurrencyPath');
  });

  it('schedules a cluster with a patching block at its window start, in its time zone, and no other', () => {
    const { stacks } = buildStacks({
      ...config,
      clusters: config.clusters.map((c) =>
        c.name === 'edge'
          ? { ...c, patching: { window: { schedule: 'cron(0 22 ? * SAT *)', timeZone: 'Europe/Berlin' } } }
          : c,
      ),
    });
    const t = templateFor(stacks, 'eu-west-1');
    t.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 22 ? * SAT *)',
      ScheduleExpressionTimezone: 'Europe/Berlin',
      Target: Match.objectLike({ Input: Match.stringLikeRegexp('"workflow":"patch-workers"') }),
    });
    t.hasResourceProperties('AWS::Scheduler::Schedule', {
      ScheduleExpression: 'cron(0 2 ? * SUN *)',
      ScheduleExpressionTimezone: 'UTC',
      Target: Match.objectLike({
        Input: Match.stringLikeRegexp(
          '"cluster":"prod-eu".*"patch-workers"|"patch-workers".*"cluster":"prod-eu"',
        ),
      }),
    });
  });

  it('lets check-patch-gate read only the configured blocker alarms', () => {
    const statements = withAction(
      roleStatements(eu, /^PatchWorkersCheckPatchGate/),
      'cloudwatch:DescribeAlarms',
    );
    expect(statements).toHaveLength(1);
    const resources = JSON.stringify(statements[0]!.Resource);
    expect(resources).toContain(':alarm:api-5xx');
    expect(resources).toContain(':alarm:etcd-latency');
  });

  it("lets record-patch tag only the clusters' instances, and only with the patch tags", () => {
    const [tag] = withAction(roleStatements(eu, /^PatchWorkersRecordPatch/), 'ec2:CreateTags');
    expect(tag).toMatchObject({
      Effect: 'Allow',
      Condition: {
        StringEquals: { 'aws:ResourceTag/caretaker:cluster': ['prod-eu'] },
        'ForAllValues:StringEquals': {
          'aws:TagKeys': ['caretaker:patched-at', 'caretaker:patched-by', 'caretaker:patch-summary'],
        },
      },
    });
  });

  it('gives the patch functions S3 under <cluster>/patching/ only', () => {
    for (const role of [/^PatchWorkersPlanPatch/, /^PatchWorkersRecordPatch/, /^PatchWorkersFinishPatch/]) {
      const s3 = roleStatements(eu, role).filter((s) => actionsOf(s).some((a) => a.startsWith('s3:')));
      expect(s3.length).toBeGreaterThan(0);
      for (const s of s3) {
        const text = JSON.stringify(s.Resource) + JSON.stringify(s.Condition ?? {});
        expect(text).toMatch(/prod-eu\/patching\/\*/);
        expect(text).not.toMatch(/\/etcd\//);
      }
    }
    eu.hasResourceProperties('AWS::IAM::Policy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'ListTheRunsResults',
            Action: 's3:ListBucket',
            Condition: { StringLike: { 's3:prefix': ['prod-eu/patching/*'] } },
          }),
        ]),
      },
    });
  });

  it("lets the state machine read the plan and run the Map's child executions", () => {
    const statements = roleStatements(eu, /^PatchWorkersStateMachineRole/);
    expect(withAction(statements, 'states:StartExecution')).toHaveLength(1);
    expect(JSON.stringify(withAction(statements, 's3:GetObject')[0]!.Resource)).toContain(
      '/patching/*/plan.json',
    );
  });

  it('is not deployed in a stack whose clusters have no patching block, and nodes get no patching grant there', () => {
    const { stacks } = buildStacks(CONFIG);
    const plain = templateFor(stacks, 'eu-west-1');
    expect(
      Object.keys(plain.findResources('AWS::StepFunctions::StateMachine')).some((id) =>
        id.startsWith('PatchWorkers'),
      ),
    ).toBe(false);
    expect(JSON.stringify(plain.findResources('AWS::IAM::ManagedPolicy'))).not.toContain('patching');
  });

  it('adds the patch run to the bucket and key policies: read, decrypt and encrypt, nothing for anyone else', () => {
    const bucketPolicy = Object.values(eu.findResources('AWS::S3::BucketPolicy'))
      .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[])
      .find((st) => st.Effect === 'Deny' && actionsOf(st).includes('s3:GetObject'));
    const readers = JSON.stringify(bucketPolicy?.Condition);
    for (const role of [
      'PatchWorkersPlanPatchRole',
      'PatchWorkersFinishPatchRole',
      'PatchWorkersStateMachineRole',
    ]) {
      expect(readers).toContain(role);
    }
    expect(readers).not.toContain('PatchWorkersRecordPatchRole');
    const keyStatements = Object.values(eu.findResources('AWS::KMS::Key'))
      .flatMap((k) => k.Properties.KeyPolicy.Statement as Statement[])
      .filter(
        (st) =>
          st.Sid === 'DecryptThroughS3ForNamedPrincipals' || st.Sid === 'EncryptThroughS3ForNamedPrincipals',
      );
    const decrypt = JSON.stringify(
      keyStatements.find((st) => st.Sid === 'DecryptThroughS3ForNamedPrincipals'),
    );
    const encrypt = JSON.stringify(
      keyStatements.find((st) => st.Sid === 'EncryptThroughS3ForNamedPrincipals'),
    );
    expect(decrypt).toContain('PatchWorkersFinishPatchRole');
    expect(decrypt).not.toContain('PatchWorkersRecordPatchRole');
    expect(encrypt).toContain('PatchWorkersRecordPatchRole');
    // every KMS grant of the patch run goes through S3
    const kms = [
      /^PatchWorkersPlanPatch/,
      /^PatchWorkersRecordPatch/,
      /^PatchWorkersFinishPatch/,
      /^PatchWorkersStateMachineRole/,
    ]
      .flatMap((r) => roleStatements(eu, r))
      .filter((st) => actionsOf(st).some((a) => a.startsWith('kms:')));
    expect(kms.length).toBe(4);
    for (const st of kms)
      expect(st.Condition).toEqual({ StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } });
  });

  it('uses Resource "*" only for the lookups that have no resource-level permissions', () => {
    const star = (role: RegExp) =>
      roleStatements(eu, role)
        .filter(
          (st) =>
            JSON.stringify(st.Resource) === '"*"' ||
            (Array.isArray(st.Resource) && st.Resource.includes('*')),
        )
        .flatMap(actionsOf)
        .filter((a) => !a.startsWith('xray:'))
        .sort();
    expect(star(/^PatchWorkersPreparePatch/)).toEqual([
      'ec2:DescribeInstances',
      'ssm:DescribeInstanceInformation',
    ]);
    expect(star(/^PatchWorkersPlanPatch/)).toEqual([
      'ec2:DescribeInstances',
      'ssm:DescribeInstanceInformation',
    ]);
    expect(star(/^PatchWorkersRecordPatch/)).toEqual(['ec2:DescribeInstances']);
    expect(star(/^PatchWorkersCheckPatchGate/)).toEqual([]);
    expect(star(/^PatchWorkersFinishPatch/)).toEqual([]);
  });

  it('lets control-plane nodes write the node inventory under the patching prefix, nothing else new', () => {
    eu.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Sid: 'WriteNodeInventoryForPatching',
            Action: 's3:PutObject',
            Resource: { 'Fn::Join': ['', [Match.anyValue(), '/prod-eu/patching/*']] },
          }),
        ]),
      },
    });
  });

  it('reports no unacknowledged cdk-nag finding with patching on', () => {
    const { app } = buildStacks(config);
    app.synth();
    const report = new AwsSolutionsChecks().validateScope(app);
    const findings = report.violations.map(
      (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
  });
});
