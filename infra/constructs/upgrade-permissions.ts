import { ArnFormat, Stack, Validations } from 'aws-cdk-lib';
import type { ClusterConfig } from '../../functions/shared/domain/config';
import type { CaretakerFunction } from './caretaker-function';

/**
 * What the upgrade's own functions may do beyond the shared permissions (RegisteredWorkflow
 * builds them): read target health anywhere (DescribeTargetHealth has no resource-level
 * permissions), deregister and register targets only in the clusters' configured API target
 * groups (controlPlane.targetGroupArns), and read only the configured blocker alarms.
 */
export function allowUpgradeFunctions(
  functions: Readonly<Record<string, CaretakerFunction>>,
  clusters: readonly ClusterConfig[],
): void {
  const groups = [...new Set(clusters.flatMap((c) => c.controlPlaneTargetGroupArns ?? []))];
  const alarms = [...new Set(clusters.flatMap((c) => c.upgrade?.blockerAlarms ?? []))];
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
}
