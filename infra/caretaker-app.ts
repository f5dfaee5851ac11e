import type { App } from 'aws-cdk-lib';
import type { CaretakerConfig } from '../functions/shared/domain/config';
import { CaretakerStack } from './caretaker-stack';
import { configByRegion } from './config-file';

/** one `Caretaker-<region>` stack per region that has clusters */
export function addCaretakerStacks(
  app: App,
  config: CaretakerConfig,
  projectRoot?: string,
): CaretakerStack[] {
  return [...configByRegion(config)].map(
    ([region, regional]) =>
      new CaretakerStack(app, `Caretaker-${region}`, {
        env: { region },
        config: regional,
        projectRoot,
        description: `Caretaker day-2 operations for ${regional.clusters.map((c) => c.name).join(', ')}`,
        // CloudFormation's 1 MB applies to the uploaded bytes: no indentation (test/infra/template-size.test.ts)
        suppressTemplateIndentation: true,
      }),
  );
}
