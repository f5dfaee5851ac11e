/**
 * upgrade-control-plane starts patch-workers for the workers' kubelets: its state machine is
 * there wherever upgrades are (even without a patching block), and the upgrade's role may start
 * and watch exactly the backup and the patch run, nothing else.
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { buildStacks, CONFIG, roleStatements, templateFor } from './build';

let eu: Template;

beforeAll(() => {
  // CONFIG's eu-west-1 clusters have no patching block, and upgrades on by default
  const { stacks } = buildStacks();
  eu = templateFor(stacks, 'eu-west-1');
});

describe("the upgrade's nested patch-workers run", () => {
  it('starts the etcd-backup and patch-workers state machines as nested executions, and only those', () => {
    const starts = roleStatements(eu, /UpgradeControlPlaneStateMachineRole/).filter(
      (st) => st.Action === 'states:StartExecution',
    );

    expect(starts.map((st) => JSON.stringify(st.Resource)).sort()).toEqual([
      expect.stringMatching(/"Ref":"EtcdBackupStateMachine/),
      expect.stringMatching(/"Ref":"PatchWorkersStateMachine/),
    ]);
  });

  it('gets the patch-workers state machine as a definition substitution', () => {
    const machines = eu.findResources('AWS::StepFunctions::StateMachine');
    const upgrade = Object.entries(machines).find(([id]) => id.startsWith('UpgradeControlPlaneStateMachine'));
    const subs = (upgrade![1] as { Properties: { DefinitionSubstitutions: Record<string, unknown> } })
      .Properties.DefinitionSubstitutions;
    expect(JSON.stringify(subs['PatchWorkersStateMachineArn'])).toMatch(/"Ref":"PatchWorkersStateMachine/);
  });

  it('builds patch-workers where upgrades are on but no cluster has a patching block, with no schedule', () => {
    const machines = Object.keys(eu.findResources('AWS::StepFunctions::StateMachine'));
    expect(machines.some((id) => id.startsWith('PatchWorkersStateMachine'))).toBe(true);
    const schedules = JSON.stringify(eu.findResources('AWS::Scheduler::Schedule'));
    expect(schedules).not.toMatch(/PatchWorkers/);
  });

  it('builds no patch-workers where neither upgrades nor patching are on', () => {
    const { stacks } = buildStacks({
      ...CONFIG,
      clusters: CONFIG.clusters.map((c) => (c.kind === 'eks' ? c : { ...c, upgrade: { enabled: false } })),
    });
    const machines = Object.keys(
      templateFor(stacks, 'eu-west-1').findResources('AWS::StepFunctions::StateMachine'),
    );
    expect(machines.some((id) => id.startsWith('PatchWorkersStateMachine'))).toBe(false);
    expect(machines.some((id) => id.startsWith('UpgradeControlPlaneStateMachine'))).toBe(false);
  });
});
