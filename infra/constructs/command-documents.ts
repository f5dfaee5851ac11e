import { Stack } from 'aws-cdk-lib';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
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

function pascal(name: string): string {
  return name.replace(/(^|-)([a-z0-9])/g, (_m, _dash: string, c: string) => c.toUpperCase());
}
