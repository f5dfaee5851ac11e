import { ArnFormat, RemovalPolicy, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import type { Construct } from 'constructs';

const ID = 'LogsKey';

/**
 * The stack's one key for CloudWatch Logs, made on first use: every Caretaker log group (the
 * functions' and the state machines') is encrypted with it. Its own key rather than the
 * snapshot key, so the snapshot key's policy names no service principal besides S3's use.
 */
export function logsKey(scope: Construct): kms.Key {
  const stack = Stack.of(scope);
  const existing = stack.node.tryFindChild(ID);
  if (existing) return existing as kms.Key;
  const key = new kms.Key(stack, ID, {
    description: 'Caretaker log groups',
    enableKeyRotation: true,
    // the log groups go with the stack; so does the key that encrypts them
    removalPolicy: RemovalPolicy.DESTROY,
  });
  // CloudWatch Logs uses the key for log groups of this account and region only
  key.addToResourcePolicy(
    new iam.PolicyStatement({
      sid: 'AllowCloudWatchLogsForThisAccountsLogGroups',
      principals: [new iam.ServicePrincipal(`logs.${stack.region}.amazonaws.com`)],
      actions: ['kms:Encrypt*', 'kms:Decrypt*', 'kms:ReEncrypt*', 'kms:GenerateDataKey*', 'kms:Describe*'],
      resources: ['*'],
      conditions: {
        ArnLike: {
          'kms:EncryptionContext:aws:logs:arn': stack.formatArn({
            service: 'logs',
            resource: 'log-group',
            resourceName: '*',
            arnFormat: ArnFormat.COLON_RESOURCE_NAME,
          }),
        },
      },
    }),
  );
  return key;
}
