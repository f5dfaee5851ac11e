import { Stack } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import { COMMAND_NAMES, findCommand } from '../../functions/shared/domain/commands';
import { loadCommandDocuments, type CommandDocument } from '../ssm-documents';

/**
 * Caretaker's own SSM Command documents, one per ssm-documents/<name>.yaml with its .sh
 * inlined. CloudFormation names them; the logical name → deployed name map goes to
 * send-command as DOCUMENTS.
 */
export class CommandDocuments extends Construct {
  readonly documents: CommandDocument[];
  /** logical name (etcd-status) → deployed document name */
  readonly names: Record<string, string> = {};
  /** ARNs of every deployed document, for ssm:SendCommand */
  readonly arns: string[] = [];

  constructor(scope: Construct, id: string, props: { directory: string }) {
    super(scope, id);
    this.documents = loadCommandDocuments(props.directory);
    checkAgainstCatalog(this.documents);
    for (const doc of this.documents) {
      const resource = new ssm.CfnDocument(this, pascal(doc.name), {
        documentType: 'Command',
        documentFormat: 'JSON',
        content: doc.content,
        // a change publishes a new default version instead of replacing the document
        updateMethod: 'NewVersion',
        tags: [{ key: 'caretaker:document', value: doc.name }],
      });
      this.names[doc.name] = resource.ref;
      this.arns.push(
        Stack.of(this).formatArn({ service: 'ssm', resource: 'document', resourceName: resource.ref }),
      );
    }
  }
}

/**
 * The command catalog (functions/shared/domain/commands) and the documents are the same set, and
 * each command's execution timeout is its document's timeoutSeconds: the Lambdas plan with the
 * catalog's number, SSM enforces the document's.
 * @throws Error naming every command or document that disagrees
 */
export function checkAgainstCatalog(documents: CommandDocument[]): void {
  const problems: string[] = [];
  const names = new Set(documents.map((d) => d.name));
  for (const name of COMMAND_NAMES) {
    if (!names.has(name)) problems.push(`command ${name} has no document ssm-documents/${name}.yaml`);
  }
  for (const doc of documents) {
    const spec = findCommand(doc.name);
    if (!spec) {
      problems.push(`ssm-documents/${doc.name}.yaml is not in the command catalog`);
      continue;
    }
    const steps = (doc.content as { mainSteps?: { inputs?: { timeoutSeconds?: unknown } }[] }).mainSteps;
    const timeout = steps?.[0]?.inputs?.timeoutSeconds;
    if (timeout !== spec.executionTimeoutSeconds) {
      problems.push(
        `ssm-documents/${doc.name}.yaml timeoutSeconds is ${String(timeout)}, the catalog plans ${spec.executionTimeoutSeconds}`,
      );
    }
  }
  if (problems.length > 0)
    throw new Error(`command documents and catalog disagree:\n  ${problems.join('\n  ')}`);
}

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z0-9])/g, (_m, _dash: string, c: string) => c.toUpperCase());
}
