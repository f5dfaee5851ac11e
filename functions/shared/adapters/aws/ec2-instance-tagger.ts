import { CreateTagsCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CLUSTER_TAG } from '../../domain/config';
import { InvalidInputError } from '../../errors';
import type { InstanceTagger } from '../../ports';
import { rethrowTransient } from './transient';

/**
 * @throws InvalidInputError when the instance does not carry `caretaker:cluster=<cluster>`: every
 * adapter that changes an instance asks first, so the error names the tag (IAM allows those
 * actions only on tagged instances anyway)
 */
export async function assertClusterInstance(
  ec2: EC2Client,
  cluster: string,
  instanceId: string,
): Promise<void> {
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

/**
 * CreateTags on one of the cluster's instances. The instance must carry the cluster tag (checked
 * here so the error says so; IAM allows ec2:CreateTags only on instances with that tag anyway).
 */
export function ec2InstanceTagger(client = new EC2Client({})): InstanceTagger {
  return {
    async tag(cluster, instanceId, tags) {
      try {
        await assertClusterInstance(client, cluster, instanceId);
        await client.send(
          new CreateTagsCommand({
            Resources: [instanceId],
            Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
          }),
        );
      } catch (e) {
        if (e instanceof InvalidInputError) throw e;
        rethrowTransient(e);
      }
    },
  };
}
