import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import { CLUSTER_TAG, type ClusterConfig } from '../../functions/shared/domain/config';
import type { CaretakerFunction } from './caretaker-function';
import { nagArn } from './restore-verify-workflow';

/**
 * What the upgrade's own functions may do beyond the shared permissions (RegisteredWorkflow
 * builds them): read target health anywhere (DescribeTargetHealth has no resource-level
 * permissions), deregister and register targets only in the clusters' configured API target
 * groups (controlPlane.targetGroupArns), and read only the configured blocker alarms. For kops
 * clusters: read Auto Scaling groups, instances and launch templates, and terminate instances
 * only in groups tagged with a kops cluster of this stack. patch-control-plane runs these same
 * functions (it shares the ASL); its os-patch path never calls replace-instance.
 */
export function allowUpgradeFunctions(
  functions: Readonly<Record<string, CaretakerFunction>>,
  clusters: readonly ClusterConfig[],
): void {
  const groups = [...new Set(clusters.flatMap((c) => c.controlPlaneTargetGroupArns ?? []))];
  const alarms = [
    ...new Set(
      clusters.flatMap((c) => [
        ...(c.upgrade?.blockerAlarms ?? []),
        ...(c.controlPlanePatching?.blockerAlarms ?? []),
      ]),
    ),
  ];
  const describe = (fn: CaretakerFunction | undefined) => {
    if (!fn) return;
    fn.allow({ actions: ['elasticloadbalancing:DescribeTargetHealth'], resources: ['*'] });
    Validations.of(fn.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) and elasticloadbalancing:DescribeTargetHealth (read-only) support only Resource "*"',
    });
  };
  const deregister = functions['deregister-targets'];
  const register = functions['register-targets'];
  describe(deregister);
  describe(functions['check-targets']);
  if (groups.length > 0) {
    deregister?.allow({ actions: ['elasticloadbalancing:DeregisterTargets'], resources: groups });
    register?.allow({ actions: ['elasticloadbalancing:RegisterTargets'], resources: groups });
  }
  const checkAlarms = functions['check-alarms'];
  if (checkAlarms && alarms.length > 0) {
    const stack = Stack.of(checkAlarms);
    checkAlarms.allow({
      actions: ['cloudwatch:DescribeAlarms'],
      resources: alarms.map((name) =>
        stack.formatArn({
          service: 'cloudwatch',
          resource: 'alarm',
          resourceName: name,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
      ),
    });
  }
  const kops = clusters.filter((c) => c.kind === 'kops' && c.upgrade?.enabled).map((c) => c.name);
  if (kops.length > 0) allowKopsReplacement(functions, kops);
}

/**
 * kops: plan-upgrade and check-replacement read the control-plane Auto Scaling groups (Describe*
 * calls have no resource-level permissions); replace-instance also terminates, only in a group
 * that carries caretaker:cluster=<a kops cluster of this stack> (aws:ResourceTag), and never lowers
 * the desired capacity (the adapter's call; IAM cannot condition on it).
 */
function allowKopsReplacement(functions: Readonly<Record<string, CaretakerFunction>>, names: string[]): void {
  const reads = [
    'autoscaling:DescribeAutoScalingInstances',
    'autoscaling:DescribeAutoScalingGroups',
    'ec2:DescribeInstances',
    'ec2:DescribeLaunchTemplates',
  ];
  for (const name of ['plan-upgrade', 'replace-instance', 'check-replacement']) {
    const fn = functions[name];
    if (!fn) continue;
    fn.allow({ actions: reads, resources: ['*'] });
    Validations.of(fn.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing), autoscaling:DescribeAutoScalingInstances/Groups, ec2:DescribeInstances and ec2:DescribeLaunchTemplates (read-only) support only Resource "*"',
    });
  }
  const replace = functions['replace-instance'];
  if (!replace) return;
  const stack = Stack.of(replace);
  const groupArn = stack.formatArn({
    service: 'autoscaling',
    resource: 'autoScalingGroup',
    resourceName: '*:autoScalingGroupName/*',
    arnFormat: ArnFormat.COLON_RESOURCE_NAME,
  });
  replace.allow({
    sid: 'TerminateOnlyInTheKopsClustersGroups',
    actions: ['autoscaling:TerminateInstanceInAutoScalingGroup'],
    resources: [groupArn],
    conditions: { StringEquals: { [`aws:ResourceTag/${CLUSTER_TAG}`]: names } },
  });
  Validations.of(replace.role).acknowledge({
    id: `AwsSolutions-IAM5[Resource::${nagArn(groupArn, stack)}]`,
    reason: `a control-plane instance group's name is kops' own; autoscaling:TerminateInstanceInAutoScalingGroup only in groups tagged ${CLUSTER_TAG}=<a kops cluster of this stack> (aws:ResourceTag)`,
  });
}
