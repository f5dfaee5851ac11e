/**
 * upgrade-control-plane starts patch-workers for the workers' kubelets: where a cluster has a
 * patching block the upgrade's role may start and watch exactly the backup and the patch run;
 * where none has, patch-workers is not deployed and the upgrade's definition gets an ARN that
 * names nothing, with no grant (no cluster there upgrades its workers: upgrade.workers is false).
 */
import type { Template } from 'aws-cdk-lib/assertions';
import { buildStacks, CONFIG, roleStatements, templateFor } from './build';

const substitution = (t: Template, name: string) => {
  const [, upgrade] = Object.entries(t.findResources('AWS::StepFunctions::StateMachine')).find(([id]) =>
    id.startsWith('UpgradeControlPlaneStateMachine'),
  )!;
  return JSON.stringify(
    (upgrade as { Properties: { DefinitionSubstitutions: Record<string, unknown> } }).Properties
      .DefinitionSubstitutions[name],
  );
};
const starts = (t: Template) =>
  roleStatements(t, /UpgradeControlPlaneStateMachineRole/)
    .filter((st) => st.Action === 'states:StartExecution')
    .map((st) => JSON.stringify(st.Resource))
    .sort();

describe("the upgrade's nested patch-workers run", () => {
  it('with a patching block: starts the etcd-backup and patch-workers state machines, and only those', () => {
    const { stacks } = buildStacks({
      ...CONFIG,
      clusters: CONFIG.clusters.map((c) => (c.name === 'prod-eu' ? { ...c, patching: {} } : c)),
    });
    const eu = templateFor(stacks, 'eu-west-1');

    expect(starts(eu)).toEqual([
      expect.stringMatching(/"Ref":"EtcdBackupStateMachine/),
      expect.stringMatching(/"Ref":"PatchWorkersStateMachine/),
    ]);
    expect(substitution(eu, 'PatchWorkersStateMachineArn')).toMatch(/"Ref":"PatchWorkersStateMachine/);
  });

  it('without any patching block: no patch-workers, an ARN naming nothing, and no grant for it', () => {
    const { stacks } = buildStacks();
    const eu = templateFor(stacks, 'eu-west-1');

    const machines = Object.keys(eu.findResources('AWS::StepFunctions::StateMachine'));
    expect(machines.some((id) => id.startsWith('PatchWorkersStateMachine'))).toBe(false);
    expect(substitution(eu, 'PatchWorkersStateMachineArn')).toContain(
      ':stateMachine:caretaker-patch-workers-not-deployed',
    );
    expect(starts(eu)).toEqual([expect.stringMatching(/"Ref":"EtcdBackupStateMachine/)]);
  });
});
