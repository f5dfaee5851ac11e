import { createHash } from 'node:crypto';
import { Fn, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as ssm from 'aws-cdk-lib/aws-ssm';
import * as cr from 'aws-cdk-lib/custom-resources';
import { Construct } from 'constructs';
import { COMMAND_NAMES, findCommand } from '../../functions/shared/domain/commands';
import {
  documentTimeoutSeconds,
  loadCommandDocuments,
  pinParameterPattern,
  type CommandDocument,
} from '../ssm-documents';
import { logsKey } from './logs-key';

export interface CommandDocumentsProps {
  directory: string;
  /** the snapshot bucket: a document's `Bucket` parameter accepts this name and no other */
  bucketName: string;
}

/**
 * Caretaker's own SSM Command documents, one per ssm-documents/<name>.yaml with its .sh
 * inlined, their `Bucket` parameter pinned to the deployed bucket. CloudFormation names them;
 * the logical name → deployed name map goes to send-command as DOCUMENTS, and the version
 * this deployment wrote of each (deployed name → version) as DOCUMENT_VERSIONS, which
 * send-command passes to SendCommand: a version made outside the stack is never what runs.
 */
export class CommandDocuments extends Construct {
  readonly documents: CommandDocument[];
  /** logical name (etcd-status) → deployed document name */
  readonly names: Record<string, string> = {};
  /** deployed document name → the version this deployment created (read back at deploy time) */
  readonly versions: Record<string, string> = {};
  /** ARNs of every deployed document, for ssm:SendCommand */
  readonly arns: string[] = [];

  constructor(scope: Construct, id: string, props: CommandDocumentsProps) {
    super(scope, id);
    const stack = Stack.of(this);
    this.documents = loadCommandDocuments(props.directory);
    checkAgainstCatalog(this.documents);
    // `^<bucket>$`, its dots escaped: CloudFormation fills in the name the stack deployed
    const bucketPattern = Fn.join('', ['^', Fn.join('\\.', Fn.split('.', props.bucketName)), '$']);
    const resources = this.documents.map((doc) => {
      const resource = new ssm.CfnDocument(this, pascal(doc.name), {
        documentType: 'Command',
        documentFormat: 'JSON',
        content: pinParameterPattern(doc, 'Bucket', bucketPattern),
        // a change publishes a new version instead of replacing the document
        updateMethod: 'NewVersion',
        tags: [{ key: 'caretaker:document', value: doc.name }],
      });
      this.names[doc.name] = resource.ref;
      this.arns.push(stack.formatArn({ service: 'ssm', resource: 'document', resourceName: resource.ref }));
      return { doc, resource };
    });

    // the version each deployment wrote, read back right after CloudFormation wrote it. One
    // Lambda serves every AwsCustomResource of the stack: its own role (no managed policy),
    // its own encrypted log group.
    const logGroup = new logs.LogGroup(this, 'VersionLookupLogs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      encryptionKey: logsKey(this),
      removalPolicy: RemovalPolicy.DESTROY,
    });
    const role = new iam.Role(this, 'VersionLookupRole', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `Caretaker: reads back the versions of its SSM documents in ${stack.region}`,
    });
    logGroup.grantWrite(role);
    for (const { doc, resource } of resources) {
      // a new physical id whenever the content or the bucket changes: CloudFormation then asks again
      const content = createHash('sha256').update(JSON.stringify(doc.content)).digest('hex').slice(0, 16);
      const describe: cr.AwsSdkCall = {
        service: 'SSM',
        action: 'DescribeDocument',
        parameters: { Name: resource.ref, DocumentVersion: '$LATEST' },
        physicalResourceId: cr.PhysicalResourceId.of(`${doc.name}@${content}@${props.bucketName}`),
        outputPaths: ['Document.DocumentVersion'],
      };
      const lookup = new cr.AwsCustomResource(this, `${pascal(doc.name)}Version`, {
        resourceType: 'Custom::CaretakerDocumentVersion',
        onCreate: describe,
        onUpdate: describe,
        policy: cr.AwsCustomResourcePolicy.fromStatements([
          new iam.PolicyStatement({
            actions: ['ssm:DescribeDocument'],
            resources: [
              stack.formatArn({ service: 'ssm', resource: 'document', resourceName: resource.ref }),
            ],
          }),
        ]),
        role,
        logGroup,
        installLatestAwsSdk: false,
      });
      this.versions[resource.ref] = lookup.getResponseField('Document.DocumentVersion');
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
    // the steps' timeouts together; for one step, its timeoutSeconds
    const timeout = documentTimeoutSeconds(doc);
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
