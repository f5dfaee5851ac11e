import {
  AutoScalingClient,
  DescribeAutoScalingInstancesCommand,
  TerminateInstanceInAutoScalingGroupCommand,
} from '@aws-sdk/client-auto-scaling';
import { DescribeInstancesCommand, EC2Client, RebootInstancesCommand } from '@aws-sdk/client-ec2';
import { CLUSTER_TAG } from '../../domain/config';
import { InvalidInputError } from '../../errors';
import type { NodeReplacer } from '../../ports';
import { rethrowTransient } from './transient';

/**
 * Reboot through EC2, replace through the instance's Auto Scaling group. Both first check that
 * the instance carries the cluster tag, so the error says so (IAM limits the actions to tagged
 * instances anyway).
 */
export function ec2NodeReplacer(
  ec2 = new EC2Client({}),
  autoScaling = new AutoScalingClient({}),
): NodeReplacer {
  async function mustBeOurs(cluster: string, instanceId: string): Promise<void> {
    const found = await ec2.send(
      new DescribeInstancesCommand({
        InstanceIds: [instanceId],
        Filters: [{ Name: `tag:${CLUSTER_TAG}`, Values: [cluster] }],
      }),
    );
    const ours = (found.Reservations ?? []).some((r) =>
      (r.Instances ?? []).some((i) => i.InstanceId === instanceId),
    );
    if (!ours)
      throw new InvalidInputError(`instanceId: ${instanceId} does not carry ${CLUSTER_TAG}=${cluster}`);
  }
  const guarded = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (e) {
      if (e instanceof InvalidInputError) throw e;
      return rethrowTransient(e);
    }
  };
  return {
    reboot: (cluster, instanceId) =>
      guarded(async () => {
        await mustBeOurs(cluster, instanceId);
        await ec2.send(new RebootInstancesCommand({ InstanceIds: [instanceId] }));
      }),
    replace: (cluster, instanceId) =>
      guarded(async () => {
        await mustBeOurs(cluster, instanceId);
        const owned = await autoScaling.send(
          new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }),
        );
        const group = owned.AutoScalingInstances?.find(
          (i) => i.InstanceId === instanceId,
        )?.AutoScalingGroupName;
        if (!group) return { replaced: false };
        await autoScaling.send(
          new TerminateInstanceInAutoScalingGroupCommand({
            InstanceId: instanceId,
            ShouldDecrementDesiredCapacity: false,
          }),
        );
        return { replaced: true, group };
      }),
  };
}
