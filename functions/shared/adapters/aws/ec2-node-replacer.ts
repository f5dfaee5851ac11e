import {
  AutoScalingClient,
  DescribeAutoScalingGroupsCommand,
  DescribeAutoScalingInstancesCommand,
  TerminateInstanceInAutoScalingGroupCommand,
  type LaunchTemplateSpecification,
} from '@aws-sdk/client-auto-scaling';
import {
  DescribeInstancesCommand,
  DescribeLaunchTemplatesCommand,
  EC2Client,
  RebootInstancesCommand,
} from '@aws-sdk/client-ec2';
import { CLUSTER_TAG } from '../../domain/config';
import { InvalidInputError } from '../../errors';
import type { AutoScalingGroupState, NodeReplacer } from '../../ports';
import { assertClusterInstance } from './ec2-instance-tagger';
import { rethrowTransient } from './transient';

/**
 * Reboot through EC2, replace through the instance's Auto Scaling group. Both first check that
 * the instance carries the cluster tag, so the error says so (IAM limits the actions to tagged
 * instances anyway). groupOf and describeGroup read the group as kops' rolling update does
 * (pkg/instancegroups, cloudup/awsup): each instance's launch template id:version against the
 * group's, with `$Latest` and `$Default` resolved through EC2.
 */
export function ec2NodeReplacer(
  ec2 = new EC2Client({}),
  autoScaling = new AutoScalingClient({}),
): NodeReplacer {
  const mustBeOurs = (cluster: string, instanceId: string) => assertClusterInstance(ec2, cluster, instanceId);
  /** the Auto Scaling group that owns the instance, if any */
  async function groupNameOf(instanceId: string): Promise<string | undefined> {
    const owned = await autoScaling.send(
      new DescribeAutoScalingInstancesCommand({ InstanceIds: [instanceId] }),
    );
    return owned.AutoScalingInstances?.find((i) => i.InstanceId === instanceId)?.AutoScalingGroupName;
  }
  const guarded = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      return await work();
    } catch (e) {
      if (e instanceof InvalidInputError) throw e;
      return rethrowTransient(e);
    }
  };
  /** `lt-0abc:7`, with `$Latest`/`$Default` (or no version: the default) resolved */
  async function resolved(spec: LaunchTemplateSpecification | undefined): Promise<string | undefined> {
    const id = spec?.LaunchTemplateId;
    if (!id) return undefined;
    const version = spec.Version;
    if (version && version !== '$Latest' && version !== '$Default') return `${id}:${version}`;
    const found = await ec2.send(new DescribeLaunchTemplatesCommand({ LaunchTemplateIds: [id] }));
    const lt = found.LaunchTemplates?.[0];
    const n = version === '$Latest' ? lt?.LatestVersionNumber : lt?.DefaultVersionNumber;
    return n === undefined ? undefined : `${id}:${n}`;
  }
  async function describeGroup(cluster: string, group: string): Promise<AutoScalingGroupState> {
    const found = await autoScaling.send(
      new DescribeAutoScalingGroupsCommand({ AutoScalingGroupNames: [group] }),
    );
    const g = found.AutoScalingGroups?.find((x) => x.AutoScalingGroupName === group);
    if (!g) throw new InvalidInputError(`group: no Auto Scaling group named ${group}`);
    const launchTemplate = await resolved(
      g.LaunchTemplate ?? g.MixedInstancesPolicy?.LaunchTemplate?.LaunchTemplateSpecification,
    );
    const members = (g.Instances ?? []).filter((i) => i.InstanceId);
    const ids = members.map((i) => i.InstanceId!);
    // where each one is reachable; only the cluster's instances answer (the tag filter)
    const reachable = new Map<
      string,
      { privateIp?: string; privateDnsName?: string; hostnameType?: string }
    >();
    if (ids.length > 0) {
      const described = await ec2.send(
        new DescribeInstancesCommand({
          InstanceIds: ids,
          Filters: [{ Name: `tag:${CLUSTER_TAG}`, Values: [cluster] }],
        }),
      );
      for (const i of (described.Reservations ?? []).flatMap((r) => r.Instances ?? [])) {
        if (!i.InstanceId) continue;
        reachable.set(i.InstanceId, {
          ...(i.PrivateIpAddress ? { privateIp: i.PrivateIpAddress } : {}),
          ...(i.PrivateDnsName ? { privateDnsName: i.PrivateDnsName } : {}),
          ...(i.PrivateDnsNameOptions?.HostnameType
            ? { hostnameType: i.PrivateDnsNameOptions.HostnameType }
            : {}),
        });
      }
    }
    return {
      name: group,
      ...(launchTemplate ? { launchTemplate } : {}),
      instances: members.map((i) => {
        const own = i.LaunchTemplate?.LaunchTemplateId
          ? `${i.LaunchTemplate.LaunchTemplateId}:${i.LaunchTemplate.Version ?? ''}`
          : undefined;
        return {
          instanceId: i.InstanceId!,
          lifecycleState: i.LifecycleState ?? 'Unknown',
          healthStatus: i.HealthStatus ?? 'Unknown',
          ...(own ? { launchTemplate: own } : {}),
          ...reachable.get(i.InstanceId!),
        };
      }),
    };
  }
  return {
    reboot: (cluster, instanceId) =>
      guarded(async () => {
        await mustBeOurs(cluster, instanceId);
        await ec2.send(new RebootInstancesCommand({ InstanceIds: [instanceId] }));
      }),
    replace: (cluster, instanceId) =>
      guarded(async () => {
        await mustBeOurs(cluster, instanceId);
        const group = await groupNameOf(instanceId);
        if (!group) return { replaced: false };
        await autoScaling.send(
          new TerminateInstanceInAutoScalingGroupCommand({
            InstanceId: instanceId,
            ShouldDecrementDesiredCapacity: false,
          }),
        );
        return { replaced: true, group };
      }),
    groupOf: (cluster, instanceId) =>
      guarded(async () => {
        await mustBeOurs(cluster, instanceId);
        const group = await groupNameOf(instanceId);
        return group ? describeGroup(cluster, group) : undefined;
      }),
    describeGroup: (cluster, group) => guarded(() => describeGroup(cluster, group)),
  };
}
