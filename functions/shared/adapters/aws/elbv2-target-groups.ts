import {
  DeregisterTargetsCommand,
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  RegisterTargetsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { TargetGroups } from '../../ports';
import { rethrowTransient } from './transient';

const toSdk = (targets: readonly { id: string; port?: number }[]) =>
  targets.map((t) => (t.port === undefined ? { Id: t.id } : { Id: t.id, Port: t.port }));

/** ELBv2 target groups: DescribeTargetHealth, DeregisterTargets, RegisterTargets */
export function elbv2TargetGroups(client = new ElasticLoadBalancingV2Client({})): TargetGroups {
  return {
    async describe(targetGroupArn, targets) {
      try {
        const out = await client.send(
          new DescribeTargetHealthCommand({
            TargetGroupArn: targetGroupArn,
            ...(targets ? { Targets: toSdk(targets) } : {}),
          }),
        );
        return (out.TargetHealthDescriptions ?? []).flatMap((d) =>
          d.Target?.Id
            ? [
                {
                  targetGroupArn,
                  id: d.Target.Id,
                  port: d.Target.Port,
                  state: d.TargetHealth?.State ?? 'unavailable',
                  reason: d.TargetHealth?.Reason ?? d.TargetHealth?.Description,
                },
              ]
            : [],
        );
      } catch (e) {
        rethrowTransient(e);
      }
    },
    async deregister(targetGroupArn, targets) {
      try {
        await client.send(
          new DeregisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: toSdk(targets) }),
        );
      } catch (e) {
        rethrowTransient(e);
      }
    },
    async register(targetGroupArn, targets) {
      try {
        await client.send(
          new RegisterTargetsCommand({ TargetGroupArn: targetGroupArn, Targets: toSdk(targets) }),
        );
      } catch (e) {
        rethrowTransient(e);
      }
    },
  };
}
