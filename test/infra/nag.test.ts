import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildStacks, CONFIG } from './build';

describe('cdk-nag AwsSolutions', () => {
  it.each([
    ['the example-like configuration', CONFIG],
    [
      'a configuration with Object Lock and a scratch launch template given by name',
      {
        ...CONFIG,
        bucket: { objectLockDays: 30 },
        clusters: CONFIG.clusters.map((c) =>
          c.restoreVerify ? { ...c, restoreVerify: { launchTemplate: 'caretaker-scratch' } } : c,
        ),
      },
    ],
  ])('reports no unacknowledged finding for %s', (_name, config) => {
    const { app } = buildStacks(config);
    app.synth();

    // the same pack `cdk synth` runs as a validation plugin, called directly
    const report = new AwsSolutionsChecks().validateScope(app);

    const findings = report.violations.map(
      (v) => `${v.ruleName} (${v.severity}): ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
    expect(report.success).toBe(true);
  });

  it('gives every acknowledgement a reason', () => {
    const { app } = buildStacks();
    const acknowledgements = app.node
      .findAll()
      .flatMap((c) => c.node.metadata.filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY))
      .flatMap((m) => Object.entries(m.data as Record<string, string>));
    expect(acknowledgements.length).toBeGreaterThan(0);
    for (const [id, reason] of acknowledgements) {
      expect(`${id}: ${reason}`).toMatch(/^annotation::AwsSolutions-[A-Z0-9]+(\[.+\])?: .{30,}/i);
    }
  });
});
