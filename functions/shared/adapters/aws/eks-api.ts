import {
  DescribeClusterCommand,
  DescribeInsightCommand,
  DescribeNodegroupCommand,
  DescribeUpdateCommand,
  EKSClient,
  paginateDescribeAddonVersions,
  paginateListAddons,
  paginateListInsights,
  paginateListNodegroups,
  DescribeAddonCommand,
  ResourceNotFoundException,
  UpdateAddonCommand,
  UpdateClusterVersionCommand,
  UpdateNodegroupVersionCommand,
  type Insight as SdkInsight,
} from '@aws-sdk/client-eks';
import { DescribeSubnetsCommand, EC2Client, paginateDescribeInstances } from '@aws-sdk/client-ec2';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import type {
  AddonVersion,
  EksUpdate,
  Insight,
  InsightStatus,
  InstalledAddon,
  ManagedNodegroup,
  UnmanagedCapacity,
  UpdateStatus,
} from '../../domain/eks';
import { ClusterNotFoundError } from '../../errors';
import type { EksApi, EksSurroundings } from '../../ports';
import { rethrowTransient } from './transient';

const INSIGHT_STATUSES = new Set<InsightStatus>(['PASSING', 'WARNING', 'ERROR', 'UNKNOWN']);
const UPDATE_STATUSES = new Set<UpdateStatus>(['InProgress', 'Failed', 'Cancelled', 'Successful']);

/** after the SDK's own retries: a throttle or 5xx is TransientError (the state machine retries it) */
async function call<T>(fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (e) {
    return rethrowTransient(e);
  }
}

function insightOf(i: SdkInsight | undefined, summary: { id?: string; name?: string }): Insight {
  const status = (i?.insightStatus?.status ?? 'UNKNOWN') as InsightStatus;
  return {
    id: i?.id ?? summary.id ?? '',
    name: i?.name ?? summary.name ?? '',
    kubernetesVersion: i?.kubernetesVersion,
    status: INSIGHT_STATUSES.has(status) ? status : 'UNKNOWN',
    reason: i?.insightStatus?.reason ?? '',
    description: i?.description,
    recommendation: i?.recommendation,
    resources: (i?.resources ?? [])
      .filter((r) => r.insightStatus?.status !== 'PASSING')
      .map((r) => r.kubernetesResourceUri ?? r.arn ?? '')
      .filter(Boolean),
  };
}

/** the EKS API over the SDK client (one per module scope in Lambda; the sandbox points it at LocalEks) */
export function eksApi(client = new EKSClient({})): EksApi {
  return {
    async describeCluster(name) {
      try {
        const out = await client.send(new DescribeClusterCommand({ name }));
        const c = out.cluster;
        return {
          name: c?.name ?? name,
          arn: c?.arn,
          version: c?.version ?? '',
          status: c?.status ?? 'UNKNOWN',
          subnetIds: c?.resourcesVpcConfig?.subnetIds ?? [],
          autoMode: c?.computeConfig?.enabled === true,
        };
      } catch (e) {
        if (e instanceof ResourceNotFoundException || (e as Error).name === 'ResourceNotFoundException') {
          throw new ClusterNotFoundError(`EKS has no cluster named "${name}" in this region`);
        }
        return rethrowTransient(e);
      }
    },

    upgradeInsights: (cluster) =>
      call(async () => {
        const found: Insight[] = [];
        const pages = paginateListInsights(
          { client },
          { clusterName: cluster, filter: { categories: ['UPGRADE_READINESS'] } },
        );
        for await (const page of pages) {
          for (const s of page.insights ?? []) {
            if (!s.id) continue;
            // a passing check needs no detail: one call per insight that has something to say
            if (s.insightStatus?.status === 'PASSING') {
              found.push(insightOf(s as SdkInsight, s));
              continue;
            }
            const detail = await client.send(new DescribeInsightCommand({ clusterName: cluster, id: s.id }));
            found.push(insightOf(detail.insight ?? (s as SdkInsight), s));
          }
        }
        return found;
      }),

    listAddons: (cluster) =>
      call(async () => {
        const names: string[] = [];
        for await (const page of paginateListAddons({ client }, { clusterName: cluster })) {
          names.push(...(page.addons ?? []));
        }
        const addons: InstalledAddon[] = [];
        for (const addonName of names) {
          const out = await client.send(new DescribeAddonCommand({ clusterName: cluster, addonName }));
          addons.push({ name: addonName, version: out.addon?.addonVersion ?? '', status: out.addon?.status });
        }
        return addons;
      }),

    addonVersions: (addon, kubernetesVersion) =>
      call(async () => {
        const versions: AddonVersion[] = [];
        const pages = paginateDescribeAddonVersions({ client }, { addonName: addon, kubernetesVersion });
        for await (const page of pages) {
          for (const a of page.addons ?? []) {
            if (a.addonName !== undefined && a.addonName !== addon) continue;
            for (const v of a.addonVersions ?? []) {
              if (!v.addonVersion) continue;
              versions.push({
                version: v.addonVersion,
                compatibilities: (v.compatibilities ?? []).map((c) => ({
                  clusterVersion: c.clusterVersion ?? '',
                  defaultVersion: c.defaultVersion === true,
                })),
              });
            }
          }
        }
        return versions;
      }),

    managedNodegroups: (cluster) =>
      call(async () => {
        const names: string[] = [];
        for await (const page of paginateListNodegroups({ client }, { clusterName: cluster })) {
          names.push(...(page.nodegroups ?? []));
        }
        const groups: ManagedNodegroup[] = [];
        for (const nodegroupName of names) {
          const out = await client.send(
            new DescribeNodegroupCommand({ clusterName: cluster, nodegroupName }),
          );
          const ng = out.nodegroup;
          groups.push({
            name: nodegroupName,
            version: ng?.version ?? '',
            releaseVersion: ng?.releaseVersion,
            amiType: ng?.amiType,
            status: ng?.status,
            customAmi: ng?.amiType === 'CUSTOM',
          });
        }
        return groups;
      }),

    startUpdate: (cluster, target, { force, token }) =>
      call(async () => {
        if (target.kind === 'cluster') {
          const out = await client.send(
            new UpdateClusterVersionCommand({
              name: cluster,
              version: target.version,
              clientRequestToken: token,
            }),
          );
          return { updateId: out.update?.id ?? '' };
        }
        if (target.kind === 'addon') {
          const out = await client.send(
            new UpdateAddonCommand({
              clusterName: cluster,
              addonName: target.name,
              addonVersion: target.addonVersion,
              // keep the user's configuration of the add-on (values, custom fields)
              resolveConflicts: 'PRESERVE',
              clientRequestToken: token,
            }),
          );
          return { updateId: out.update?.id ?? '' };
        }
        const out = await client.send(
          new UpdateNodegroupVersionCommand({
            clusterName: cluster,
            nodegroupName: target.name,
            ...(target.version !== undefined && { version: target.version }),
            ...(target.releaseVersion !== undefined && { releaseVersion: target.releaseVersion }),
            force,
            clientRequestToken: token,
          }),
        );
        return { updateId: out.update?.id ?? '' };
      }),

    describeUpdate: (cluster, updateId, target) =>
      call(async (): Promise<EksUpdate> => {
        const out = await client.send(
          new DescribeUpdateCommand({
            name: cluster,
            updateId,
            ...(target.kind === 'addon' && { addonName: target.name }),
            ...(target.kind === 'nodegroup' && { nodegroupName: target.name }),
          }),
        );
        const u = out.update;
        const status = (u?.status ?? 'InProgress') as UpdateStatus;
        return {
          id: u?.id ?? updateId,
          status: UPDATE_STATUSES.has(status) ? status : 'InProgress',
          type: u?.type,
          errors: (u?.errors ?? []).map((e) => ({
            errorCode: e.errorCode ?? 'Unknown',
            errorMessage: e.errorMessage ?? '',
            resourceIds: e.resourceIds ?? [],
          })),
        };
      }),
  };
}

/**
 * The SSM public parameter holding the newest EKS-optimized AMI release for an AMI type and
 * Kubernetes version; undefined for types with no such parameter (CUSTOM, Windows).
 */
export function releaseVersionParameter(amiType: string, version: string): string | undefined {
  const eks = (path: string) =>
    `/aws/service/eks/optimized-ami/${version}/${path}/recommended/release_version`;
  const bottlerocket = (arch: string, flavour = '') =>
    `/aws/service/bottlerocket/aws-k8s-${version}${flavour}/${arch}/latest/image_version`;
  const paths: Record<string, string> = {
    AL2_x86_64: eks('amazon-linux-2'),
    AL2_x86_64_GPU: eks('amazon-linux-2-gpu'),
    AL2_ARM_64: eks('amazon-linux-2-arm64'),
    AL2023_x86_64_STANDARD: eks('amazon-linux-2023/x86_64/standard'),
    AL2023_ARM_64_STANDARD: eks('amazon-linux-2023/arm64/standard'),
    AL2023_x86_64_NEURON: eks('amazon-linux-2023/x86_64/neuron'),
    AL2023_x86_64_NVIDIA: eks('amazon-linux-2023/x86_64/nvidia'),
    AL2023_ARM_64_NVIDIA: eks('amazon-linux-2023/arm64/nvidia'),
    BOTTLEROCKET_x86_64: bottlerocket('x86_64'),
    BOTTLEROCKET_ARM_64: bottlerocket('arm64'),
    BOTTLEROCKET_x86_64_NVIDIA: bottlerocket('x86_64', '-nvidia'),
    BOTTLEROCKET_ARM_64_NVIDIA: bottlerocket('arm64', '-nvidia'),
  };
  return Object.hasOwn(paths, amiType) ? paths[amiType] : undefined;
}

/** the tags EC2 instances of an EKS cluster carry, by who launched them */
const NODEGROUP_TAG = 'eks:nodegroup-name';
const KARPENTER_TAG = 'karpenter.sh/nodepool';
const AUTO_MODE_TAG = 'eks:kubernetes-node-pool-name';
const ASG_TAG = 'aws:autoscaling:groupName';

/** subnets (EC2), other nodes (EC2 tags) and AMI releases (SSM public parameters); read only */
export function eksSurroundings(ec2 = new EC2Client({}), ssm = new SSMClient({})): EksSurroundings {
  return {
    subnets: (ids) =>
      call(async () => {
        if (ids.length === 0) return [];
        const out = await ec2.send(new DescribeSubnetsCommand({ SubnetIds: [...ids] }));
        return (out.Subnets ?? []).map((s) => ({
          subnetId: s.SubnetId ?? '',
          availableIps: s.AvailableIpAddressCount ?? 0,
          availabilityZone: s.AvailabilityZone,
        }));
      }),

    unmanagedCapacity: (cluster) =>
      call(async () => {
        const groups = new Map<string, UnmanagedCapacity>();
        const pages = paginateDescribeInstances(
          { client: ec2 },
          {
            Filters: [
              { Name: 'instance-state-name', Values: ['pending', 'running'] },
              { Name: `tag:kubernetes.io/cluster/${cluster}`, Values: ['owned', 'shared'] },
            ],
          },
        );
        for await (const page of pages) {
          for (const r of page.Reservations ?? []) {
            for (const i of r.Instances ?? []) {
              const tags = new Map((i.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? '']));
              if (tags.has(NODEGROUP_TAG)) continue;
              const [kind, name]: [UnmanagedCapacity['kind'], string] = tags.has(AUTO_MODE_TAG)
                ? ['auto-mode', `Auto Mode node pool ${tags.get(AUTO_MODE_TAG)}`]
                : tags.has(KARPENTER_TAG)
                  ? ['karpenter', `Karpenter NodePool ${tags.get(KARPENTER_TAG)}`]
                  : [
                      'self-managed',
                      tags.has(ASG_TAG)
                        ? `Auto Scaling group ${tags.get(ASG_TAG)}`
                        : 'instances outside any group',
                    ];
              const key = `${kind}/${name}`;
              const g = groups.get(key) ?? { kind, name, nodes: 0 };
              g.nodes += 1;
              groups.set(key, g);
            }
          }
        }
        return [...groups.values()].sort((a, b) => a.name.localeCompare(b.name));
      }),

    async latestReleaseVersion(amiType, version) {
      const Name = releaseVersionParameter(amiType, version);
      if (!Name) return undefined;
      try {
        const out = await ssm.send(new GetParameterCommand({ Name }));
        return out.Parameter?.Value || undefined;
      } catch (e) {
        if (e instanceof ParameterNotFound || (e as Error).name === 'ParameterNotFound') return undefined;
        return rethrowTransient(e);
      }
    },
  };
}
