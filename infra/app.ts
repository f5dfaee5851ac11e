import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { addCaretakerStacks } from './caretaker-app';
import { readConfigFile } from './config-file';

let loaded: ReturnType<typeof readConfigFile>;
try {
  loaded = readConfigFile();
} catch (error) {
  // a bad config stops synth here with parseConfig's message (it names cluster and field)
  console.error((error as Error).message);
  process.exit(1);
}

const app = new App();
addCaretakerStacks(app, loaded.config);
// cdk-nag 3 is a validation plugin; Aspects.of(app).add(...) crashes
Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
app.synth();
