import { statSync } from 'node:fs';
import { join } from 'node:path';
import type { ConfigInput } from '../../functions/shared/domain/config';
import { buildStacks, CONFIG, templateFor } from './build';

/**
 * CloudFormation refuses a template over 1 MB (even from S3), so a stack that grows past it
 * cannot be deployed at all. A region with every workflow (backups, restore verification,
 * patching, upgrades and control-plane patching, remediation, kops with events) must stay well
 * under it: the state machines' definitions are S3 assets, not inline strings.
 */
const LIMIT_BYTES = 1_000_000;

const FULL: ConfigInput = {
  ...CONFIG,
  clusters: [
    ...CONFIG.clusters.map((c) =>
      c.kind === 'eks'
        ? c
        : { ...c, patching: {}, upgrade: { blockerAlarms: ['api-5xx'] }, remediation: { dryRun: true } },
    ),
    {
      name: 'kops-eu',
      kind: 'kops',
      region: 'eu-west-1',
      kops: { stateStore: 's3://example-kops-state-store' },
      etcd: { events: true },
      restoreVerify: { launchTemplate: 'lt-0fedcba9876543210' },
      patching: {},
      remediation: {},
    },
  ],
};

describe('the synthesized template', () => {
  it('stays under CloudFormation’s 1 MB with every workflow in one region, definitions kept in S3', () => {
    const { app, stacks } = buildStacks(FULL);
    const eu = templateFor(stacks, 'eu-west-1');
    const json = eu.toJSON() as {
      Resources: Record<string, { Type: string; Properties: Record<string, unknown> }>;
    };
    const machines = Object.values(json.Resources).filter(
      (r) => r.Type === 'AWS::StepFunctions::StateMachine',
    );

    // what CDK uploads: the template file as synthesized (the stack suppresses indentation)
    const bytes = statSync(
      join(app.outdir, `${stacks.find((s) => s.region === 'eu-west-1')!.stackName}.template.json`),
    ).size;
    expect(machines.length).toBeGreaterThanOrEqual(6);
    for (const m of machines) {
      expect(m.Properties['DefinitionString']).toBeUndefined();
      expect(m.Properties['DefinitionS3Location']).toBeDefined();
    }
    expect(bytes).toBeLessThan(LIMIT_BYTES);
  });
});
