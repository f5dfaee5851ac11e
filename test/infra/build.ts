import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { App } from 'aws-cdk-lib';
import { Match, Template } from 'aws-cdk-lib/assertions';
import { parseConfig, type ConfigInput } from '../../functions/shared/domain/config';
import { addCaretakerStacks } from '../../infra/caretaker-app';
import type { CaretakerStack } from '../../infra/caretaker-stack';
import { loadCommandDocuments } from '../../infra/ssm-documents';

export const ROOT = join(__dirname, '..', '..');

/** every document in ssm-documents/, in the order infra deploys them (sorted by file name) */
export const DOCUMENT_NAMES = loadCommandDocuments(join(ROOT, 'ssm-documents')).map((d) => d.name);

/** `etcd-snapshot` → `EtcdSnapshot`, as CDK forms logical ids */
export const pascal = (name: string) =>
  name.replace(/(^|-)([a-z0-9])/g, (_m, _dash: string, c: string) => c.toUpperCase());

/** matches `{ Ref: <the CfnDocument of name> }` (logical ids are PascalCase of the name) */
export function documentRef(name: string): Record<string, unknown> {
  return { Ref: Match.stringLikeRegexp(`Documents${pascal(name)}[0-9A-F]{8}$`) };
}

/** one statement of a synthesized IAM policy document */
export interface Statement {
  Sid?: string;
  Effect: 'Allow' | 'Deny';
  Principal?: unknown;
  Action: string | string[];
  Resource?: unknown;
  Condition?: Record<string, Record<string, unknown>>;
}

/** every statement of the inline policies attached to roles whose logical id matches */
export function roleStatements(template: Template, role: RegExp): Statement[] {
  return Object.values(template.findResources('AWS::IAM::Policy'))
    .filter((p) => (p.Properties.Roles as { Ref: string }[]).some((r) => role.test(r.Ref)))
    .flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
}

/**
 * two etcd clusters in eu-west-1 (one on a Berlin cron), one of them with restore
 * verification, and an EKS cluster in us-east-1
 */
export const CONFIG: ConfigInput = {
  clusters: [
    {
      name: 'prod-eu',
      kind: 'kubeadm',
      region: 'eu-west-1',
      restoreVerify: { launchTemplate: 'lt-0123456789abcdef0' },
    },
    {
      name: 'edge',
      kind: 'kubespray',
      region: 'eu-west-1',
      backup: { schedule: 'cron(15 */4 * * ? *)', timeZone: 'Europe/Berlin' },
    },
    { name: 'apps-us', kind: 'eks', region: 'us-east-1' },
  ],
  notifications: { emails: ['oncall@example.com'] },
};

/** synthesizes without bundling (unit tests never run esbuild) */
export function buildStacks(input: ConfigInput = CONFIG): { app: App; stacks: CaretakerStack[] } {
  const app = new App({ context: { 'aws:cdk:bundling-stacks': [] } });
  const stacks = addCaretakerStacks(app, parseConfig(input));
  return { app, stacks };
}

export function templateFor(stacks: CaretakerStack[], region: string): Template {
  const stack = stacks.find((s) => s.region === region);
  if (!stack) throw new Error(`no stack for ${region}`);
  return Template.fromStack(stack);
}

/**
 * A state machine's definition as deployed: the S3 asset its DefinitionS3Location names, read
 * from the app's synthesized assembly (call templateFor first, which synthesizes)
 */
export function deployedDefinition(app: App, machine: Record<string, unknown>): string {
  const properties = machine['Properties'] as Record<string, unknown>;
  const location = properties['DefinitionS3Location'] as { Key: string } | undefined;
  if (!location) throw new Error('the state machine has no DefinitionS3Location');
  return readFileSync(join(app.outdir, `asset.${location.Key}`), 'utf8');
}
