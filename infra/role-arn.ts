import type { Stack } from 'aws-cdk-lib';

/** a role configured by name (in the stack's account) or by ARN, as an ARN */
export function roleArn(stack: Stack, nameOrArn: string): string {
  if (nameOrArn.startsWith('arn:')) return nameOrArn;
  return stack.formatArn({ service: 'iam', region: '', resource: 'role', resourceName: nameOrArn });
}
