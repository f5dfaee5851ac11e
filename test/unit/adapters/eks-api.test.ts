import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DescribeInstancesCommand, DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  DescribeAddonCommand,
  DescribeAddonVersionsCommand,
  DescribeClusterCommand,
  DescribeInsightCommand,
  DescribeNodegroupCommand,
  DescribeUpdateCommand,
  EKSClient,
  ListAddonsCommand,
  ListInsightsCommand,
  ListNodegroupsCommand,
  ResourceNotFoundException,
  ThrottlingException,
  UpdateAddonCommand,
  UpdateClusterVersionCommand,
  UpdateNodegroupVersionCommand,
} from '@aws-sdk/client-eks';
import { GetParameterCommand, ParameterNotFound, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
// types for the matchers; jest's setupFilesAfterEnv registers them at run time
import 'aws-sdk-client-mock-jest';
import {
  eksApi,
  eksSurroundings,
  releaseVersionParameter,
} from '../../../functions/shared/adapters/aws/eks-api';
import { ClusterNotFoundError, TransientError } from '../../../functions/shared/errors';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- fixtures are the API's JSON, typed by the SDK call they answer
const fixture = (name: string): any =>
  JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'events', 'eks', `${name}.json`), 'utf8'));

const eks = mockClient(EKSClient);
const ec2 = mockClient(EC2Client);
const ssm = mockClient(SSMClient);
const api = () => eksApi(new EKSClient({}));
const surroundings = () => eksSurroundings(new EC2Client({}), new SSMClient({}));

beforeEach(() => {
  eks.reset();
  ec2.reset();
  ssm.reset();
});

describe('eksApi', () => {
  it('reads the cluster version, subnets and Auto Mode from DescribeCluster', async () => {
    eks.on(DescribeClusterCommand).resolves(fixture('describe-cluster'));

    await expect(api().describeCluster('prod-eks')).resolves.toEqual({
      name: 'prod-eks',
      arn: 'arn:aws:eks:eu-west-1:111122223333:cluster/prod-eks',
      version: '1.31',
      status: 'ACTIVE',
      subnetIds: ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'],
      autoMode: false,
    });
    expect(eks).toHaveReceivedCommandWith(DescribeClusterCommand, { name: 'prod-eks' });
  });

  it('turns ResourceNotFoundException into ClusterNotFoundError', async () => {
    eks
      .on(DescribeClusterCommand)
      .rejects(new ResourceNotFoundException({ message: 'No cluster found for name: nope.', $metadata: {} }));
    await expect(api().describeCluster('nope')).rejects.toBeInstanceOf(ClusterNotFoundError);
  });

  it('lists UPGRADE_READINESS insights and describes only those that are not PASSING', async () => {
    eks.on(ListInsightsCommand).resolves(fixture('list-insights'));
    eks
      .on(DescribeInsightCommand, { id: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE22222' })
      .resolves(fixture('describe-insight-warning'))
      .on(DescribeInsightCommand, { id: 'a1b2c3d4-5678-90ab-cdef-EXAMPLE33333' })
      .resolves(fixture('describe-insight-error'));

    const insights = await api().upgradeInsights('prod-eks');

    expect(eks).toHaveReceivedCommandWith(ListInsightsCommand, {
      clusterName: 'prod-eks',
      filter: { categories: ['UPGRADE_READINESS'] },
    });
    expect(eks).toHaveReceivedCommandTimes(DescribeInsightCommand, 2);
    expect(insights.map((i) => [i.name, i.status])).toEqual([
      ['Kubelet version skew', 'PASSING'],
      ['Deprecated APIs removed in Kubernetes v1.32', 'WARNING'],
      ['Amazon Linux 2 compatibility', 'ERROR'],
    ]);
    expect(insights[1]).toMatchObject({
      kubernetesVersion: '1.32',
      reason: 'Deprecated API usage detected within last 30 days.',
      recommendation: expect.stringContaining('Update manifests and API clients'),
      // a passing resource is not worth naming
      resources: ['/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas'],
    });
    expect(insights[2]!.resources).toEqual([
      'arn:aws:eks:eu-west-1:111122223333:nodegroup/prod-eks/legacy-al2/8ac7b1a2-0000-4000-8000-000000000001',
    ]);
  });

  it('reads add-on versions with their compatibilities and default flags', async () => {
    eks.on(DescribeAddonVersionsCommand).resolves(fixture('describe-addon-versions-vpc-cni'));

    const versions = await api().addonVersions('vpc-cni', '1.32');

    expect(eks).toHaveReceivedCommandWith(DescribeAddonVersionsCommand, {
      addonName: 'vpc-cni',
      kubernetesVersion: '1.32',
    });
    expect(versions[0]).toEqual({
      version: 'v1.19.2-eksbuild.1',
      compatibilities: [
        { clusterVersion: '1.32', defaultVersion: true },
        { clusterVersion: '1.31', defaultVersion: true },
      ],
    });
  });

  it('returns no versions for an add-on EKS has none of for the target', async () => {
    eks.on(DescribeAddonVersionsCommand).resolves(fixture('describe-addon-versions-none'));
    await expect(api().addonVersions('vendor-agent', '1.32')).resolves.toEqual([]);
  });

  it('lists installed add-ons with their versions', async () => {
    eks.on(ListAddonsCommand).resolves({ addons: ['coredns'] });
    eks.on(DescribeAddonCommand).resolves(fixture('describe-addon-coredns'));
    await expect(api().listAddons('prod-eks')).resolves.toEqual([
      { name: 'coredns', version: 'v1.11.3-eksbuild.1', status: 'ACTIVE' },
    ]);
  });

  it('lists managed node groups with version, AMI release and type', async () => {
    eks.on(ListNodegroupsCommand).resolves({ nodegroups: ['general-a'] });
    eks.on(DescribeNodegroupCommand).resolves(fixture('describe-nodegroup'));
    await expect(api().managedNodegroups('prod-eks')).resolves.toEqual([
      {
        name: 'general-a',
        version: '1.31',
        releaseVersion: '1.31.2-20241121',
        amiType: 'AL2023_x86_64_STANDARD',
        status: 'ACTIVE',
        customAmi: false,
      },
    ]);
  });

  it('starts a control-plane update with the client request token', async () => {
    eks.on(UpdateClusterVersionCommand).resolves(fixture('update-cluster-version'));
    await expect(
      api().startUpdate('prod-eks', { kind: 'cluster', version: '1.32' }, { force: false, token: 'tok-1' }),
    ).resolves.toEqual({ updateId: 'b5f0ba18-9a87-4450-b5a0-825e6e84496f' });
    expect(eks).toHaveReceivedCommandWith(UpdateClusterVersionCommand, {
      name: 'prod-eks',
      version: '1.32',
      clientRequestToken: 'tok-1',
    });
  });

  it('updates an add-on preserving the user configuration', async () => {
    eks
      .on(UpdateAddonCommand)
      .resolves({ update: { id: 'u-addon', status: 'InProgress', type: 'AddonUpdate' } });
    await api().startUpdate(
      'prod-eks',
      { kind: 'addon', name: 'coredns', addonVersion: 'v1.11.4-eksbuild.2' },
      { force: false, token: 'tok-2' },
    );
    expect(eks).toHaveReceivedCommandWith(UpdateAddonCommand, {
      clusterName: 'prod-eks',
      addonName: 'coredns',
      addonVersion: 'v1.11.4-eksbuild.2',
      resolveConflicts: 'PRESERVE',
      clientRequestToken: 'tok-2',
    });
  });

  it('updates a node group to a version, or to an AMI release, with force only when asked', async () => {
    eks.on(UpdateNodegroupVersionCommand).resolves({ update: { id: 'u-ng', status: 'InProgress' } });
    await api().startUpdate(
      'prod-eks',
      { kind: 'nodegroup', name: 'general-a', version: '1.32' },
      { force: false, token: 't3' },
    );
    await api().startUpdate(
      'prod-eks',
      { kind: 'nodegroup', name: 'general-b', releaseVersion: '1.31.3-20250103' },
      { force: true, token: 't4' },
    );
    const [first, second] = eks.commandCalls(UpdateNodegroupVersionCommand).map((c) => c.args[0].input);
    expect(first).toEqual({
      clusterName: 'prod-eks',
      nodegroupName: 'general-a',
      version: '1.32',
      force: false,
      clientRequestToken: 't3',
    });
    expect(second).toEqual({
      clusterName: 'prod-eks',
      nodegroupName: 'general-b',
      releaseVersion: '1.31.3-20250103',
      force: true,
      clientRequestToken: 't4',
    });
  });

  it.each([
    ['describe-update-successful', 'Successful', []],
    [
      'describe-update-failed',
      'Failed',
      [
        {
          errorCode: 'IpNotAvailable',
          errorMessage:
            'The subnet subnet-0a1b2c3d4e5f60001 does not have enough free IP addresses to update the cluster.',
          resourceIds: ['subnet-0a1b2c3d4e5f60001'],
        },
      ],
    ],
  ])('reads %s', async (name, status, errors) => {
    eks.on(DescribeUpdateCommand).resolves(fixture(name));
    await expect(
      api().describeUpdate('prod-eks', 'b5f0ba18-9a87-4450-b5a0-825e6e84496f', {
        kind: 'cluster',
        version: '1.32',
      }),
    ).resolves.toEqual({ id: 'b5f0ba18-9a87-4450-b5a0-825e6e84496f', status, type: 'VersionUpdate', errors });
  });

  it('asks DescribeUpdate about a node group by its name, and reads a PodEvictionFailure', async () => {
    eks.on(DescribeUpdateCommand).resolves(fixture('describe-update-pod-eviction-failure'));
    const u = await api().describeUpdate('prod-eks', '3d2a6c9e-0f1b-4a7e-9d3c-5b8e2f1a0c47', {
      kind: 'nodegroup',
      name: 'general-a',
      version: '1.32',
    });
    expect(eks).toHaveReceivedCommandWith(DescribeUpdateCommand, {
      name: 'prod-eks',
      updateId: '3d2a6c9e-0f1b-4a7e-9d3c-5b8e2f1a0c47',
      nodegroupName: 'general-a',
    });
    expect(u.errors[0]).toMatchObject({ errorCode: 'PodEvictionFailure' });
  });

  it('asks DescribeUpdate about an add-on by its name', async () => {
    eks.on(DescribeUpdateCommand).resolves(fixture('describe-update-successful'));
    await api().describeUpdate('prod-eks', 'u', {
      kind: 'addon',
      name: 'coredns',
      addonVersion: 'v1.11.4-eksbuild.2',
    });
    expect(eks).toHaveReceivedCommandWith(DescribeUpdateCommand, {
      name: 'prod-eks',
      updateId: 'u',
      addonName: 'coredns',
    });
  });

  it('turns throttling that outlasted the SDK retries into TransientError', async () => {
    eks
      .on(DescribeUpdateCommand)
      .rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }));
    await expect(
      api().describeUpdate('prod-eks', 'u', { kind: 'cluster', version: '1.32' }),
    ).rejects.toBeInstanceOf(TransientError);
    eks.on(ListInsightsCommand).rejects(new ThrottlingException({ message: 'Rate exceeded', $metadata: {} }));
    await expect(api().upgradeInsights('prod-eks')).rejects.toThrow('ThrottlingException: Rate exceeded');
  });
});

describe('eksSurroundings', () => {
  it('reads the free addresses of the cluster subnets', async () => {
    ec2.on(DescribeSubnetsCommand).resolves(fixture('describe-subnets'));
    await expect(
      surroundings().subnets(['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002']),
    ).resolves.toEqual([
      { subnetId: 'subnet-0a1b2c3d4e5f60001', availableIps: 3, availabilityZone: 'eu-west-1a' },
      { subnetId: 'subnet-0a1b2c3d4e5f60002', availableIps: 1, availabilityZone: 'eu-west-1b' },
    ]);
  });

  it('groups the nodes no managed node group owns: self-managed, Karpenter, Auto Mode', async () => {
    const instance = (id: string, tags: Record<string, string>) => ({
      InstanceId: id,
      Tags: Object.entries({ 'kubernetes.io/cluster/prod-eks': 'owned', ...tags }).map(([Key, Value]) => ({
        Key,
        Value,
      })),
    });
    ec2.on(DescribeInstancesCommand).resolves({
      Reservations: [
        {
          Instances: [
            instance('i-01', { 'eks:nodegroup-name': 'general-a' }),
            instance('i-02', { 'karpenter.sh/nodepool': 'default' }),
            instance('i-03', { 'karpenter.sh/nodepool': 'default' }),
            instance('i-04', { 'aws:autoscaling:groupName': 'legacy-workers' }),
            instance('i-05', { 'eks:kubernetes-node-pool-name': 'general-purpose' }),
          ],
        },
      ],
    });
    await expect(surroundings().unmanagedCapacity('prod-eks')).resolves.toEqual([
      { kind: 'auto-mode', name: 'Auto Mode node pool general-purpose', nodes: 1 },
      { kind: 'self-managed', name: 'Auto Scaling group legacy-workers', nodes: 1 },
      { kind: 'karpenter', name: 'Karpenter NodePool default', nodes: 2 },
    ]);
    expect(ec2).toHaveReceivedCommandWith(DescribeInstancesCommand, {
      Filters: [
        { Name: 'instance-state-name', Values: ['pending', 'running'] },
        { Name: 'tag:kubernetes.io/cluster/prod-eks', Values: ['owned', 'shared'] },
      ],
    });
  });

  it('reads the newest AMI release from the public SSM parameter of the AMI type', async () => {
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: '1.31.3-20250103' } });
    await expect(surroundings().latestReleaseVersion('AL2023_x86_64_STANDARD', '1.31')).resolves.toBe(
      '1.31.3-20250103',
    );
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, {
      Name: '/aws/service/eks/optimized-ami/1.31/amazon-linux-2023/x86_64/standard/recommended/release_version',
    });
  });

  it('has no release for a custom or unknown AMI type, nor for a missing parameter', async () => {
    expect(releaseVersionParameter('CUSTOM', '1.31')).toBeUndefined();
    await expect(surroundings().latestReleaseVersion('CUSTOM', '1.31')).resolves.toBeUndefined();
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
    await expect(surroundings().latestReleaseVersion('BOTTLEROCKET_x86_64', '1.20')).resolves.toBeUndefined();
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, {
      Name: '/aws/service/bottlerocket/aws-k8s-1.20/x86_64/latest/image_version',
    });
  });
});
