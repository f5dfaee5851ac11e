import { EC2Client, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import { paginateDescribeInstanceInformation, SSMClient } from '@aws-sdk/client-ssm';
import type { Instance, Inventory } from '../../ports';
import { rethrowTransient } from './transient';

/** DescribeInstanceInformation takes at most 50 instance ids per filter */
const SSM_FILTER_LIMIT = 50;

/** running EC2 instances with every given tag, narrowed to those SSM reports Online */
export function ec2Inventory(ec2 = new EC2Client({}), ssm = new SSMClient({})): Inventory {
  return {
    async findManagedInstances(tags) {
      const found: Instance[] = [];
      try {
        const pages = paginateDescribeInstances(
          { client: ec2 },
          {
            Filters: [
              { Name: 'instance-state-name', Values: ['running'] },
              ...Object.entries(tags).map(([k, v]) => ({ Name: `tag:${k}`, Values: [v] })),
            ],
          },
        );
        for await (const page of pages) {
          for (const r of page.Reservations ?? []) {
            for (const i of r.Instances ?? []) {
              if (!i.InstanceId) continue;
              found.push({
                instanceId: i.InstanceId,
                name: i.Tags?.find((t) => t.Key === 'Name')?.Value,
                privateIp: i.PrivateIpAddress,
                availabilityZone: i.Placement?.AvailabilityZone,
              });
            }
          }
        }
        if (found.length === 0) return [];
        const online = new Set<string>();
        for (let at = 0; at < found.length; at += SSM_FILTER_LIMIT) {
          const ids = found.slice(at, at + SSM_FILTER_LIMIT).map((i) => i.instanceId);
          const info = paginateDescribeInstanceInformation(
            { client: ssm },
            { Filters: [{ Key: 'InstanceIds', Values: ids }] },
          );
          for await (const page of info) {
            for (const i of page.InstanceInformationList ?? []) {
              if (i.InstanceId && i.PingStatus === 'Online') online.add(i.InstanceId);
            }
          }
        }
        return found
          .filter((i) => online.has(i.instanceId))
          .sort((a, b) => a.instanceId.localeCompare(b.instanceId));
      } catch (e) {
        return rethrowTransient(e);
      }
    },
  };
}
