import { CreateTagsCommand, DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CLUSTER_TAG } from '../../domain/config';
import { InvalidInputError } from '../../errors';
import type { InstanceTagger } from '../../ports';
import { rethrowTransient } from './transient';

/**
 * CreateTags on one of the cluster's instances. The instance must carry the cluster tag (checked
 * here so the error says so; IAM allows ec2:CreateTags only on instances with that tag anyway).
 */
export function ec2InstanceTagger(client = new EC2Client({})): InstanceTagger {
  return {
    async tag(cluster, instanceId, tags) {
      try {
        const found = await client.send(
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
