import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { App } from 'aws-cdk-lib';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildStacks, CONFIG, deployedDefinition, ROOT, roleStatements, templateFor } from './build';

const TG = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/prod-eu-api/0123456789abcdef';

let eu: Template;
let euApp: App;

beforeAll(() => {
  const { app, stacks } = buildStacks();
  eu = templateFor(stacks, 'eu-west-1');
  euApp = app;
});

describe('the upgrade-control-plane state machine', () => {
  it('starts the etcd-backup state machine as a nested execution, and only that one', () => {
    const statements = roleStatements(eu, /UpgradeControlPlaneStateMachineRole/);

    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: 'states:StartExecution',
          Resource: { Ref: expect.stringMatching(/^EtcdBackupStateMachine/) },
        }),
        expect.objectContaining({
          Action: ['states:DescribeExecution', 'states:StopExecution'],
        }),
        expect.objectContaining({
          Action: ['events:PutTargets', 'events:PutRule', 'events:DescribeRule'],
        }),
      ]),
    );
  });

  it('gets the backup state machine and its own functions as definition substitutions', () => {
    eu.hasResourceProperties('AWS::StepFunctions::StateMachine', {
      DefinitionSubstitutions: Match.objectLike({
        EtcdBackupStateMachineArn: { Ref: Match.stringLikeRegexp('^EtcdBackupStateMachine') },
        DeregisterTargetsFunctionArn: Match.anyValue(),
        PlanUpgradeFunctionArn: Match.anyValue(),
        RequestApprovalFunctionArn: Match.anyValue(),
      }),
    });
  });

  it('lets the target functions change only the configured target groups, and check-alarms read only the blocker alarms', () => {
    const [first, ...rest] = CONFIG.clusters;
    const { stacks } = buildStacks({
      ...CONFIG,
      clusters: [
        {
          ...first!,
          controlPlane: { targetGroupArns: [TG] },
          upgrade: { blockerAlarms: ['prod-eu-api-5xx'] },
        },
        ...rest,
      ],
    });
    const t = templateFor(stacks, 'eu-west-1');

    expect(roleStatements(t, /UpgradeControlPlaneDeregisterTargetsRole/)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: 'elasticloadbalancing:DescribeTargetHealth', Resource: '*' }),
        expect.objectContaining({ Action: 'elasticloadbalancing:DeregisterTargets', Resource: TG }),
      ]),
    );
    expect(roleStatements(t, /UpgradeControlPlaneRegisterTargetsRole/)).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ Action: 'elasticloadbalancing:RegisterTargets', Resource: TG }),
      ]),
    );
    const alarms = roleStatements(t, /UpgradeControlPlaneCheckAlarmsRole/).find(
      (st) => st.Action === 'cloudwatch:DescribeAlarms',
    );
    expect(JSON.stringify(alarms?.Resource)).toContain(':alarm:prod-eu-api-5xx');
    // without target groups nobody may deregister anything
    const actions = roleStatements(eu, /UpgradeControlPlane.*Role/).flatMap((st) => [st.Action].flat());
    expect(actions).toContain('elasticloadbalancing:DescribeTargetHealth');
    expect(actions).not.toContain('elasticloadbalancing:DeregisterTargets');
    expect(actions).not.toContain('elasticloadbalancing:RegisterTargets');
  });
});

/** CONFIG plus a kops cluster in eu-west-1 */
const WITH_KOPS = {
  ...CONFIG,
  clusters: [
    ...CONFIG.clusters,
    {
      name: 'kops-prod',
      kind: 'kops' as const,
      region: 'eu-west-1',
      controlPlane: { targetGroupArns: [TG] },
    },
  ],
};

describe('the kops path of upgrade-control-plane', () => {
  let t: Template;
  beforeAll(() => {
    t = templateFor(buildStacks(WITH_KOPS).stacks, 'eu-west-1');
  });

  it("lets replace-instance terminate only in Auto Scaling groups tagged with a kops cluster of the stack, never lowering capacity by IAM's say", () => {
    const statements = roleStatements(t, /UpgradeControlPlaneReplaceInstanceRole/);

    const terminate = statements.find(
      (st) => st.Action === 'autoscaling:TerminateInstanceInAutoScalingGroup',
    );
    expect(terminate).toMatchObject({
      Effect: 'Allow',
      Condition: { StringEquals: { 'aws:ResourceTag/caretaker:cluster': ['kops-prod'] } },
    });
    expect(JSON.stringify(terminate?.Resource)).toContain(':autoScalingGroup:*:autoScalingGroupName/*');
    expect(statements).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          Action: [
            'autoscaling:DescribeAutoScalingInstances',
            'autoscaling:DescribeAutoScalingGroups',
            'ec2:DescribeInstances',
            'ec2:DescribeLaunchTemplates',
          ],
          Resource: '*',
        }),
      ]),
    );
  });

  it('gives check-replacement and plan-upgrade only the reads', () => {
    for (const role of [/UpgradeControlPlaneCheckReplacementRole/, /UpgradeControlPlanePlanUpgradeRole/]) {
      const actions = roleStatements(t, role).flatMap((st) => [st.Action].flat());
      expect(actions).toContain('autoscaling:DescribeAutoScalingGroups');
      expect(actions).not.toContain('autoscaling:TerminateInstanceInAutoScalingGroup');
    }
  });

  it('gives no function Auto Scaling permissions when no kops cluster is upgraded', () => {
    const actions = roleStatements(eu, /.*/).flatMap((st) => [st.Action].flat());
    expect(actions.filter((a) => String(a).startsWith('autoscaling:'))).toEqual([]);
  });

  it('reports no unacknowledged cdk-nag finding', () => {
    const { app } = buildStacks(WITH_KOPS);
    app.synth();

    const report = new AwsSolutionsChecks().validateScope(app);

    expect(
      report.violations.map(
        (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
      ),
    ).toEqual([]);
  });
});

describe('the patch-control-plane state machine', () => {
  it("runs upgrade-control-plane's definition and functions, with the backup nested", () => {
    const machines = Object.entries(eu.findResources('AWS::StepFunctions::StateMachine'));
    const [, patch] = machines.find(([id]) => id.startsWith('PatchControlPlane'))!;
    const [, upgrade] = machines.find(([id]) => id.startsWith('UpgradeControlPlane'))!;
    const definition = deployedDefinition(euApp, patch);

    expect(definition).toContain('Is this an OS patch rather than an upgrade?');
    // the very same file as the upgrade's: one asset
    expect(patch.Properties.DefinitionS3Location).toEqual(upgrade.Properties.DefinitionS3Location);
    expect(definition).toBe(
      readFileSync(join(ROOT, 'state-machines/upgrade-control-plane.asl.json'), 'utf8'),
    );
    expect(Object.keys(patch.Properties.DefinitionSubstitutions as object)).toEqual(
      expect.arrayContaining([
        'EtcdBackupStateMachineArn',
        'PlanUpgradeFunctionArn',
        'ReplaceInstanceFunctionArn',
      ]),
    );
    // the upgrade's functions, not a second copy of each
    expect(JSON.stringify(patch.Properties.DefinitionSubstitutions)).toMatch(
      /UpgradeControlPlanePlanUpgrade/,
    );
    expect(
      Object.keys(eu.findResources('AWS::Lambda::Function')).filter((id) =>
        id.startsWith('PatchControlPlane'),
      ),
    ).toEqual([]);
  });
});
