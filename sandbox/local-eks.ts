/**
 * LocalEks: a stand-in for the EKS API (AWS itself cannot run here), served on 127.0.0.1 so the
 * real @aws-sdk/client-eks talks to it over its REST-JSON protocol. It keeps the cluster's,
 * each add-on's and each managed node group's versions, serves upgrade insights and add-on
 * versions, and moves every update InProgress → Successful (or Failed, when told to) on a timer,
 * applying the new version when it succeeds. It records every request, so a test asserts the
 * exact invocation (UpdateAddon's resolveConflicts, UpdateNodegroupVersion's force).
 *
 * EC2 (subnets, other nodes) and SSM (AMI releases) are played in memory: `surroundings`.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type {
  AddonVersion,
  Insight,
  SubnetCapacity,
  UnmanagedCapacity,
  UpdateError,
  UpdateStatus,
} from '../functions/shared/domain/eks';
import type { EksSurroundings } from '../functions/shared/ports';

export interface LocalNodegroup {
  version: string;
  releaseVersion: string;
  amiType: string;
}

export interface LocalUpdate {
  id: string;
  type: 'VersionUpdate' | 'AddonUpdate';
  /** what it changes: `cluster`, `addon/<name>`, `nodegroup/<name>` */
  resource: string;
  status: UpdateStatus;
  params: { type: string; value: string }[];
  errors: UpdateError[];
  createdAt: number;
  token?: string;
}

export interface EksRequest {
  operation: string;
  path: string;
  query: Record<string, string>;
  body: Record<string, unknown>;
}

/** an update the next matching request starts, and how it ends */
export interface InjectedFailure {
  /** `cluster`, `addon/vpc-cni`, `nodegroup/ng-a` */
  resource: string;
  status?: 'Failed' | 'Cancelled';
  errors: UpdateError[];
}

export interface LocalEksState {
  name: string;
  version: string;
  subnetIds: string[];
  autoMode?: boolean;
  addons: Record<string, string>;
  /** DescribeAddonVersions' answer per add-on */
  addonVersions: Record<string, AddonVersion[]>;
  nodegroups: Record<string, LocalNodegroup>;
  insights: Insight[];
  subnets: SubnetCapacity[];
  unmanaged: UnmanagedCapacity[];
  /** the newest AMI release per `<amiType>/<version>` (SSM's public parameters) */
  latestReleases: Record<string, string>;
}

/** a small EKS 1.31 cluster with the usual add-ons, two node groups, and 1.32 ready to go */
export function sandboxEksState(name: string): LocalEksState {
  const addon = (versions: [string, string[], string[]][]): AddonVersion[] =>
    versions.map(([version, clusters, defaults]) => ({
      version,
      compatibilities: clusters.map((c) => ({ clusterVersion: c, defaultVersion: defaults.includes(c) })),
    }));
  return {
    name,
    version: '1.31',
    subnetIds: ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'],
    addons: {
      'vpc-cni': 'v1.18.3-eksbuild.2',
      coredns: 'v1.11.3-eksbuild.1',
      'kube-proxy': 'v1.31.0-eksbuild.2',
      'aws-ebs-csi-driver': 'v1.35.0-eksbuild.1',
    },
    addonVersions: {
      'vpc-cni': addon([
        ['v1.19.2-eksbuild.1', ['1.31', '1.32'], ['1.31', '1.32']],
        ['v1.18.3-eksbuild.2', ['1.30', '1.31', '1.32'], []],
      ]),
      coredns: addon([
        ['v1.11.4-eksbuild.2', ['1.32'], ['1.32']],
        ['v1.11.3-eksbuild.1', ['1.31', '1.32'], ['1.31']],
      ]),
      'kube-proxy': addon([
        ['v1.32.0-eksbuild.2', ['1.32'], ['1.32']],
        ['v1.31.0-eksbuild.2', ['1.31'], ['1.31']],
      ]),
      'aws-ebs-csi-driver': addon([
        ['v1.38.1-eksbuild.1', ['1.30', '1.31', '1.32'], ['1.30', '1.31', '1.32']],
        ['v1.35.0-eksbuild.1', ['1.30', '1.31', '1.32'], []],
      ]),
    },
    nodegroups: {
      'general-a': { version: '1.31', releaseVersion: '1.31.2-20241121', amiType: 'AL2023_x86_64_STANDARD' },
      'general-b': { version: '1.31', releaseVersion: '1.31.3-20250103', amiType: 'AL2023_x86_64_STANDARD' },
    },
    insights: [
      {
        id: 'a1b2c3d4-0000-4000-8000-000000000001',
        name: 'Kubelet version skew',
        kubernetesVersion: '1.32',
        status: 'PASSING',
        reason: 'Node kubelet versions match the cluster control plane version.',
      },
      {
        id: 'a1b2c3d4-0000-4000-8000-000000000002',
        name: 'Deprecated APIs removed in Kubernetes v1.32',
        kubernetesVersion: '1.32',
        status: 'WARNING',
        reason: 'Deprecated API usage detected within last 30 days.',
        recommendation:
          'Update manifests and API clients to use newer Kubernetes APIs if applicable before upgrading to Kubernetes v1.32.',
        resources: ['/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas'],
      },
    ],
    subnets: [
      { subnetId: 'subnet-0a1b2c3d4e5f60001', availableIps: 4021, availabilityZone: 'eu-west-1a' },
      { subnetId: 'subnet-0a1b2c3d4e5f60002', availableIps: 3998, availabilityZone: 'eu-west-1b' },
    ],
    unmanaged: [{ kind: 'karpenter', name: 'Karpenter NodePool default', nodes: 3 }],
    latestReleases: {
      'AL2023_x86_64_STANDARD/1.31': '1.31.3-20250103',
      'AL2023_x86_64_STANDARD/1.32': '1.32.0-20250103',
    },
  };
}

class EksHttpError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

export interface LocalEks {
  endpoint: string;
  state: LocalEksState;
  updates: Map<string, LocalUpdate>;
  requests: EksRequest[];
  surroundings: EksSurroundings;
  /** the next update of this resource ends Failed (or Cancelled) with these errors */
  failNext(failure: InjectedFailure): void;
  /** answer the next `count` requests with 429 ThrottlingException */
  throttle(count: number): void;
  /** the requests that changed something, in order */
  changes(): EksRequest[];
  stop(): Promise<void>;
}

const CHANGES = new Set(['UpdateClusterVersion', 'UpdateAddon', 'UpdateNodegroupVersion']);

/**
 * Starts LocalEks on 127.0.0.1 (a port the OS picks). `updateMs`: how long an update stays
 * InProgress before the timer ends it.
 */
export async function startLocalEks(
  state: LocalEksState,
  options: { updateMs?: number } = {},
): Promise<LocalEks> {
  const updateMs = options.updateMs ?? 1500;
  const updates = new Map<string, LocalUpdate>();
  const requests: EksRequest[] = [];
  const failures: InjectedFailure[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let throttled = 0;

  const busy = (resource: string) =>
    [...updates.values()].some((u) => u.resource === resource && u.status === 'InProgress');

  /** a new update, or the one this token already started (EKS's idempotency) */
  const begin = (
    resource: string,
    type: LocalUpdate['type'],
    params: LocalUpdate['params'],
    token: string | undefined,
    apply: () => void,
  ): LocalUpdate => {
    const same = token ? [...updates.values()].find((u) => u.token === token) : undefined;
    if (same) return same;
    if (busy(resource)) {
      throw new EksHttpError(
        409,
        'ResourceInUseException',
        `an update of ${resource} is already in progress`,
      );
    }
    const update: LocalUpdate = {
      id: randomUUID(),
      type,
      resource,
      status: 'InProgress',
      params,
      errors: [],
      createdAt: Date.now() / 1000,
      token,
    };
    updates.set(update.id, update);
    const failAt = failures.findIndex((f) => f.resource === resource);
    const failure = failAt >= 0 ? failures.splice(failAt, 1)[0] : undefined;
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (failure) {
        update.status = failure.status ?? 'Failed';
        update.errors = failure.errors;
      } else {
        apply();
        update.status = 'Successful';
      }
    }, updateMs);
    timer.unref();
    timers.add(timer);
    return update;
  };

  const updateJson = (u: LocalUpdate) => ({
    id: u.id,
    status: u.status,
    type: u.type,
    params: u.params,
    createdAt: u.createdAt,
    errors: u.errors,
  });

  const clusterJson = () => ({
    name: state.name,
    arn: `arn:aws:eks:eu-west-1:000000000000:cluster/${state.name}`,
    version: state.version,
    status: busy('cluster') ? 'UPDATING' : 'ACTIVE',
    platformVersion: `eks.${state.version === '1.31' ? 12 : 3}`,
    resourcesVpcConfig: { subnetIds: state.subnetIds, vpcId: 'vpc-0a1b2c3d4e5f60000' },
    ...(state.autoMode !== undefined && { computeConfig: { enabled: state.autoMode } }),
  });

  const insightJson = (i: Insight) => ({
    id: i.id,
    name: i.name,
    category: 'UPGRADE_READINESS',
    kubernetesVersion: i.kubernetesVersion,
    lastRefreshTime: Date.now() / 1000,
    lastTransitionTime: Date.now() / 1000,
    description: i.description ?? `Checks for ${i.name.toLowerCase()}.`,
    insightStatus: { status: i.status, reason: i.reason },
  });

  type Route = [
    method: string,
    pattern: RegExp,
    operation: string,
    run: (m: string[], q: Record<string, string>, b: Record<string, unknown>) => unknown,
  ];
  const requireCluster = (name: string) => {
    if (name !== state.name)
      throw new EksHttpError(404, 'ResourceNotFoundException', `No cluster found for name: ${name}.`);
  };
  const routes: Route[] = [
    [
      'GET',
      /^\/clusters\/([^/]+)$/,
      'DescribeCluster',
      ([n]) => (requireCluster(n!), { cluster: clusterJson() }),
    ],
    [
      'POST',
      /^\/clusters\/([^/]+)\/insights$/,
      'ListInsights',
      ([n], _q, b) => {
        requireCluster(n!);
        const categories = ((b.filter as { categories?: string[] } | undefined)?.categories ??
          []) as string[];
        const listed =
          categories.length === 0 || categories.includes('UPGRADE_READINESS') ? state.insights : [];
        return { insights: listed.map(insightJson) };
      },
    ],
    [
      'GET',
      /^\/clusters\/([^/]+)\/insights\/([^/]+)$/,
      'DescribeInsight',
      ([n, id]) => {
        requireCluster(n!);
        const i = state.insights.find((x) => x.id === id);
        if (!i) throw new EksHttpError(404, 'ResourceNotFoundException', `No insight ${id}`);
        return {
          insight: {
            ...insightJson(i),
            recommendation: i.recommendation,
            resources: (i.resources ?? []).map((uri) => ({
              insightStatus: { status: i.status, reason: i.reason },
              kubernetesResourceUri: uri,
            })),
            categorySpecificSummary: { deprecationDetails: [] },
          },
        };
      },
    ],
    [
      'GET',
      /^\/clusters\/([^/]+)\/addons$/,
      'ListAddons',
      ([n]) => (requireCluster(n!), { addons: Object.keys(state.addons) }),
    ],
    [
      'GET',
      /^\/clusters\/([^/]+)\/addons\/([^/]+)$/,
      'DescribeAddon',
      ([n, a]) => {
        requireCluster(n!);
        const version = state.addons[a!];
        if (!version)
          throw new EksHttpError(404, 'ResourceNotFoundException', `No addon: ${a} found in cluster: ${n}`);
        return {
          addon: {
            addonName: a,
            clusterName: n,
            addonVersion: version,
            status: busy(`addon/${a}`) ? 'UPDATING' : 'ACTIVE',
          },
        };
      },
    ],
    [
      'GET',
      /^\/addons\/supported-versions$/,
      'DescribeAddonVersions',
      (_m, q) => {
        const names = q.addonName ? [q.addonName] : Object.keys(state.addonVersions);
        return {
          addons: names
            .filter((name) => state.addonVersions[name])
            .map((name) => ({
              addonName: name,
              type: 'networking',
              addonVersions: state.addonVersions[name]!.filter(
                (v) =>
                  !q.kubernetesVersion ||
                  v.compatibilities.some((c) => c.clusterVersion === q.kubernetesVersion),
              ).map((v) => ({
                addonVersion: v.version,
                architecture: ['amd64', 'arm64'],
                compatibilities: v.compatibilities.map((c) => ({
                  clusterVersion: c.clusterVersion,
                  platformVersions: ['*'],
                  defaultVersion: c.defaultVersion,
                })),
                requiresConfiguration: false,
              })),
            })),
        };
      },
    ],
    [
      'POST',
      /^\/clusters\/([^/]+)\/addons\/([^/]+)\/update$/,
      'UpdateAddon',
      ([n, a], _q, b) => {
        requireCluster(n!);
        if (!state.addons[a!]) throw new EksHttpError(404, 'ResourceNotFoundException', `No addon: ${a}`);
        const to = String(b.addonVersion);
        const known = state.addonVersions[a!]?.some((v) => v.version === to);
        if (!known)
          throw new EksHttpError(400, 'InvalidParameterException', `Addon version ${to} is not supported`);
        const u = begin(
          `addon/${a}`,
          'AddonUpdate',
          [
            { type: 'AddonVersion', value: to },
            { type: 'ResolveConflicts', value: String(b.resolveConflicts ?? 'NONE') },
          ],
          b.clientRequestToken as string | undefined,
          () => (state.addons[a!] = to),
        );
        return { update: updateJson(u) };
      },
    ],
    [
      'GET',
      /^\/clusters\/([^/]+)\/node-groups$/,
      'ListNodegroups',
      ([n]) => (requireCluster(n!), { nodegroups: Object.keys(state.nodegroups) }),
    ],
    [
      'GET',
      /^\/clusters\/([^/]+)\/node-groups\/([^/]+)$/,
      'DescribeNodegroup',
      ([n, g]) => {
        requireCluster(n!);
        const ng = state.nodegroups[g!];
        if (!ng)
          throw new EksHttpError(404, 'ResourceNotFoundException', `No node group found for name: ${g}.`);
        return {
          nodegroup: {
            nodegroupName: g,
            clusterName: n,
            version: ng.version,
            releaseVersion: ng.releaseVersion,
            amiType: ng.amiType,
            status: busy(`nodegroup/${g}`) ? 'UPDATING' : 'ACTIVE',
            capacityType: 'ON_DEMAND',
            scalingConfig: { minSize: 2, maxSize: 4, desiredSize: 2 },
            updateConfig: { maxUnavailable: 1 },
          },
        };
      },
    ],
    [
      'POST',
      /^\/clusters\/([^/]+)\/node-groups\/([^/]+)\/update-version$/,
      'UpdateNodegroupVersion',
      ([n, g], _q, b) => {
        requireCluster(n!);
        const ng = state.nodegroups[g!];
        if (!ng)
          throw new EksHttpError(404, 'ResourceNotFoundException', `No node group found for name: ${g}.`);
        const version = (b.version as string | undefined) ?? ng.version;
        if (version !== ng.version && version !== state.version) {
          throw new EksHttpError(
            400,
            'InvalidParameterException',
            `Requested Nodegroup version ${version} is invalid: the cluster runs ${state.version}`,
          );
        }
        const release =
          (b.releaseVersion as string | undefined) ??
          state.latestReleases[`${ng.amiType}/${version}`] ??
          ng.releaseVersion;
        const u = begin(
          `nodegroup/${g}`,
          'VersionUpdate',
          [
            { type: 'Version', value: version },
            { type: 'ReleaseVersion', value: release },
            ...(b.force ? [{ type: 'Force', value: 'true' }] : []),
          ],
          b.clientRequestToken as string | undefined,
          () => Object.assign(ng, { version, releaseVersion: release }),
        );
        return { update: updateJson(u) };
      },
    ],
    [
      'POST',
      /^\/clusters\/([^/]+)\/updates$/,
      'UpdateClusterVersion',
      ([n], _q, b) => {
        requireCluster(n!);
        const to = String(b.version);
        const [cm, cn] = state.version.split('.').map(Number);
        const [tm, tn] = to.split('.').map(Number);
        if (tm !== cm || tn !== cn! + 1) {
          throw new EksHttpError(
            400,
            'InvalidParameterException',
            `Unsupported Kubernetes minor version update from ${state.version} to ${to}`,
          );
        }
        const u = begin(
          'cluster',
          'VersionUpdate',
          [
            { type: 'Version', value: to },
            { type: 'PlatformVersion', value: 'eks.3' },
          ],
          b.clientRequestToken as string | undefined,
          () => (state.version = to),
        );
        return { update: updateJson(u) };
      },
    ],
    [
      'GET',
      /^\/clusters\/([^/]+)\/updates\/([^/]+)$/,
      'DescribeUpdate',
      ([n, id], q) => {
        requireCluster(n!);
        const u = updates.get(id!);
        const resource = q.addonName
          ? `addon/${q.addonName}`
          : q.nodegroupName
            ? `nodegroup/${q.nodegroupName}`
            : 'cluster';
        if (!u || u.resource !== resource) {
          throw new EksHttpError(404, 'ResourceNotFoundException', `No update found for ID: ${id}`);
        }
        return { update: updateJson(u) };
      },
    ],
  ];

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams.entries());
    const text = Buffer.concat(chunks).toString('utf8');
    const send = (status: number, body: unknown, type?: string) => {
      res.writeHead(status, {
        'content-type': 'application/json',
        ...(type && { 'x-amzn-errortype': type }),
        'x-amzn-requestid': randomUUID(),
      });
      res.end(JSON.stringify(body));
    };
    try {
      const path = decodeURIComponent(url.pathname);
      const route = routes.find(([method, pattern]) => method === req.method && pattern.test(path));
      if (!route)
        throw new EksHttpError(404, 'NotFoundException', `LocalEks does not serve ${req.method} ${path}`);
      const body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
      requests.push({ operation: route[2], path, query, body });
      if (throttled > 0) {
        throttled -= 1;
        throw new EksHttpError(429, 'ThrottlingException', 'Rate exceeded');
      }
      const match = route[1].exec(path)!.slice(1);
      send(200, route[3](match, query, body));
    } catch (e) {
      if (e instanceof EksHttpError) send(e.status, { message: e.message }, e.type);
      else send(500, { message: String(e) }, 'ServerException');
    }
  };

  const server: Server = createServer((req, res) => void handle(req, res));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    endpoint,
    state,
    updates,
    requests,
    surroundings: {
      async subnets(ids) {
        return state.subnets.filter((s) => ids.includes(s.subnetId));
      },
      async unmanagedCapacity() {
        return state.unmanaged;
      },
      async latestReleaseVersion(amiType, version) {
        return state.latestReleases[`${amiType}/${version}`];
      },
    },
    failNext: (failure) => failures.push(failure),
    throttle: (count) => (throttled = count),
    changes: () => requests.filter((r) => CHANGES.has(r.operation)),
    async stop() {
      for (const t of timers) clearTimeout(t);
      timers.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
