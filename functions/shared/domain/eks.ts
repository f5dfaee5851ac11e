/**
 * EKS upgrade campaigns and node-group patching: the decisions, with no AWS in them. The
 * adapter (adapters/aws/eks-api.ts) reads EKS and EC2; these functions say what may be done.
 *
 * - version skew: a target at most one minor ahead of the control plane, and every managed node
 *   group within the kubelet skew of the target once the control plane is there;
 * - the preflight report: upgrade insights (ERROR blocks, WARNING is reported with its
 *   recommendation), an add-on version for the target, free IP addresses in the cluster's
 *   subnets, what Caretaker leaves alone (self-managed nodes, Karpenter, Auto Mode);
 * - the add-on target: the version DescribeAddonVersions marks `defaultVersion` for the target;
 * - the patch plan: managed node groups whose AMI release is behind the newest for their version.
 */
import { InvalidInputError } from '../errors';

/** a Kubernetes minor version as EKS writes it: `1.31` */
export interface MinorVersion {
  major: number;
  minor: number;
}

const VERSION = /^(\d{1,2})\.(\d{1,3})$/;

/**
 * `1.31` → {major 1, minor 31}.
 * @throws InvalidInputError naming `field` when it is not `<major>.<minor>`
 */
export function parseMinorVersion(version: string, field = 'version'): MinorVersion {
  const m = VERSION.exec(version);
  if (!m) {
    throw new InvalidInputError(
      `${field}: "${version}" is not a Kubernetes minor version such as 1.31 (EKS upgrades go minor by minor)`,
      [`${field}: must be <major>.<minor> such as 1.31`],
    );
  }
  return { major: Number(m[1]), minor: Number(m[2]) };
}

export const formatMinor = (v: MinorVersion) => `${v.major}.${v.minor}`;

/** the minor after `version`: `1.31` → `1.32` */
export function nextMinor(version: string): string {
  const v = parseMinorVersion(version, 'cluster version');
  return formatMinor({ major: v.major, minor: v.minor + 1 });
}

/** how many minors `a` is ahead of `b` (negative: behind); across majors only when equal majors */
function minorsAhead(a: MinorVersion, b: MinorVersion): number {
  return (a.major - b.major) * 1000 + (a.minor - b.minor);
}

/**
 * The version an upgrade goes to: the one asked for, or the next minor. The same version as the
 * cluster's is allowed (a re-run after the control plane was done finishes add-ons and node
 * groups); a downgrade or a skipped minor is refused.
 * @throws InvalidInputError naming `version`, before any change
 */
export function upgradeTarget(current: string, asked: string | undefined): string {
  const from = parseMinorVersion(current, 'cluster version');
  if (asked === undefined) return nextMinor(current);
  const to = parseMinorVersion(asked);
  const ahead = minorsAhead(to, from);
  if (ahead < 0) {
    throw new InvalidInputError(
      `version: ${asked} is older than the cluster's ${current}; EKS cannot downgrade a control plane`,
      [`version: older than the cluster's ${current}`],
    );
  }
  if (ahead > 1) {
    throw new InvalidInputError(
      `version: ${asked} skips a minor release; the cluster runs ${current}, so the next upgrade is to ${nextMinor(current)} (EKS upgrades one minor at a time)`,
      [`version: skips a minor release (the cluster runs ${current})`],
    );
  }
  return formatMinor(to);
}

/**
 * How many minors a kubelet may be behind kube-apiserver: three from Kubernetes 1.28 (KEP-3935),
 * two before.
 */
export function kubeletSkew(apiServer: string): number {
  const v = parseMinorVersion(apiServer, 'cluster version');
  return v.major > 1 || v.minor >= 28 ? 3 : 2;
}

/** is a kubelet at `kubelet` allowed under an API server at `apiServer`? */
export function withinKubeletSkew(kubelet: string, apiServer: string): boolean {
  const ahead = minorsAhead(
    parseMinorVersion(apiServer, 'cluster version'),
    parseMinorVersion(kubelet, 'node group version'),
  );
  return ahead >= 0 && ahead <= kubeletSkew(apiServer);
}

// ---- what the adapter reads, as plain values ----

export type InsightStatus = 'PASSING' | 'WARNING' | 'ERROR' | 'UNKNOWN';

export interface Insight {
  id: string;
  name: string;
  /** the version the insight judges readiness for */
  kubernetesVersion?: string;
  status: InsightStatus;
  reason: string;
  /** DescribeInsight's detail */
  description?: string;
  recommendation?: string;
  /** resources the insight names (kubernetesResourceUri or arn) with their own status */
  resources?: string[];
}

export interface AddonVersionCompatibility {
  clusterVersion: string;
  defaultVersion: boolean;
}

export interface AddonVersion {
  version: string;
  compatibilities: AddonVersionCompatibility[];
}

export interface InstalledAddon {
  name: string;
  version: string;
  status?: string;
}

export interface ManagedNodegroup {
  name: string;
  /** the Kubernetes minor its nodes run */
  version: string;
  /** the AMI release (`1.31.0-20241024`); absent for a custom AMI */
  releaseVersion?: string;
  amiType?: string;
  status?: string;
  /** a launch template with its own AMI: EKS cannot move it to a new AMI itself */
  customAmi?: boolean;
}

export interface SubnetCapacity {
  subnetId: string;
  availableIps: number;
  availabilityZone?: string;
}

/** nodes that are not in a managed node group: Caretaker reports them and never touches them */
export interface UnmanagedCapacity {
  kind: 'self-managed' | 'karpenter' | 'auto-mode';
  /** the Auto Scaling group, the Karpenter NodePool, or `Auto Mode` */
  name: string;
  nodes: number;
}

// ---- add-on targets ----

/** `v1.19.2-eksbuild.1` → [1, 19, 2, 1]; unparseable parts count as 0 */
function addonVersionKey(version: string): number[] {
  const m = /^v?(\d+)\.(\d+)\.(\d+)(?:-eksbuild\.(\d+))?/.exec(version);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4] ?? 0)] : [0, 0, 0, 0];
}

/** orders add-on versions the way EKS numbers them (semver, then the eksbuild number) */
export function compareAddonVersions(a: string, b: string): number {
  const ka = addonVersionKey(a);
  const kb = addonVersionKey(b);
  for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
  return 0;
}

export type AddonTarget =
  | { name: string; currentVersion: string; targetVersion: string; update: boolean; reason: string }
  | { name: string; currentVersion: string; targetVersion?: undefined; update: false; reason: string };

/**
 * The version an installed add-on goes to for `kubernetesVersion`: the one DescribeAddonVersions
 * marks `defaultVersion` for it. An add-on already at that version or at a newer one that is
 * compatible stays where it is (EKS cannot downgrade an add-on). No default: no target, which the
 * preflight reports as a blocker.
 */
export function addonTarget(
  addon: InstalledAddon,
  versions: readonly AddonVersion[],
  kubernetesVersion: string,
): AddonTarget {
  const compatible = versions.filter((v) =>
    v.compatibilities.some((c) => c.clusterVersion === kubernetesVersion),
  );
  const preferred = compatible.find((v) =>
    v.compatibilities.some((c) => c.clusterVersion === kubernetesVersion && c.defaultVersion),
  );
  const currentCompatible = compatible.some((v) => v.version === addon.version);
  if (!preferred) {
    if (currentCompatible) {
      return {
        name: addon.name,
        currentVersion: addon.version,
        targetVersion: addon.version,
        update: false,
        reason: `${addon.version} is compatible with ${kubernetesVersion} (EKS names no default)`,
      };
    }
    return {
      name: addon.name,
      currentVersion: addon.version,
      update: false,
      reason: `EKS offers no version of ${addon.name} for Kubernetes ${kubernetesVersion}`,
    };
  }
  const order = compareAddonVersions(addon.version, preferred.version);
  if (order >= 0 && currentCompatible) {
    return {
      name: addon.name,
      currentVersion: addon.version,
      targetVersion: addon.version,
      update: false,
      reason:
        order === 0
          ? `already at the default version for ${kubernetesVersion}`
          : `${addon.version} is newer than the default ${preferred.version} and compatible with ${kubernetesVersion}`,
    };
  }
  return {
    name: addon.name,
    currentVersion: addon.version,
    targetVersion: preferred.version,
    update: true,
    reason: `the default version for Kubernetes ${kubernetesVersion}`,
  };
}

// ---- subnets ----

/**
 * EKS needs up to five free IP addresses in the cluster's subnets to replace the control plane's
 * network interfaces during an update; `minimum` is the configured floor.
 */
export function subnetProblems(subnets: readonly SubnetCapacity[], minimum: number): string[] {
  const total = subnets.reduce((n, s) => n + s.availableIps, 0);
  if (subnets.length === 0) return ['the cluster names no subnets (DescribeCluster resourcesVpcConfig)'];
  if (total < minimum) {
    return [
      `the cluster's subnets have ${total} free IP address(es) in all (${subnets
        .map((s) => `${s.subnetId}: ${s.availableIps}`)
        .join(', ')}); an EKS control-plane update needs at least ${minimum}`,
    ];
  }
  return [];
}

// ---- the preflight report ----

export interface NodegroupPlan {
  name: string;
  version: string;
  releaseVersion?: string;
  update: boolean;
  reason: string;
}

export interface InsightFinding {
  id: string;
  name: string;
  status: InsightStatus;
  reason: string;
  recommendation: string;
  resources: string[];
}

export interface PreflightReport {
  cluster: string;
  currentVersion: string;
  targetVersion: string;
  /** false when the control plane already runs the target (a re-run finishing the rest) */
  controlPlaneUpdate: boolean;
  /** every reason the upgrade may not go ahead; empty = it may */
  blockers: string[];
  /** insights at WARNING (and UNKNOWN), each with EKS's recommendation */
  warnings: InsightFinding[];
  /** insights at ERROR, also listed among the blockers */
  errors: InsightFinding[];
  addons: AddonTarget[];
  nodegroups: NodegroupPlan[];
  subnets: SubnetCapacity[];
  notTouched: UnmanagedCapacity[];
  /** one paragraph a person reads at the approval gate */
  summary: string;
}

export interface PreflightFacts {
  cluster: string;
  currentVersion: string;
  targetVersion: string;
  insights: readonly Insight[];
  addons: readonly { addon: InstalledAddon; versions: readonly AddonVersion[] }[];
  nodegroups: readonly ManagedNodegroup[];
  subnets: readonly SubnetCapacity[];
  unmanaged: readonly UnmanagedCapacity[];
  minFreeIps: number;
  /** DescribeCluster's status; an update can only start on an ACTIVE cluster */
  clusterStatus?: string;
}

const finding = (i: Insight): InsightFinding => ({
  id: i.id,
  name: i.name,
  status: i.status,
  reason: i.reason,
  recommendation: i.recommendation ?? '',
  resources: i.resources ?? [],
});

/**
 * The preflight of an upgrade campaign, from what EKS and EC2 said. Pure: the same facts give
 * the same report. An insight about another version than the target is not this upgrade's.
 */
export function preflightReport(f: PreflightFacts): PreflightReport {
  const blockers: string[] = [];
  if (f.clusterStatus !== undefined && f.clusterStatus !== 'ACTIVE') {
    blockers.push(
      `the cluster is ${f.clusterStatus}, not ACTIVE: EKS starts no update until it is (another update may be running)`,
    );
  }
  const relevant = f.insights.filter(
    (i) => i.kubernetesVersion === undefined || i.kubernetesVersion === f.targetVersion,
  );
  const errors = relevant.filter((i) => i.status === 'ERROR').map(finding);
  const warnings = relevant.filter((i) => i.status === 'WARNING' || i.status === 'UNKNOWN').map(finding);
  for (const e of errors) {
    blockers.push(
      `upgrade insight "${e.name}" is ERROR: ${e.reason}${e.recommendation ? ` (recommendation: ${e.recommendation})` : ''}`,
    );
  }

  const addons = f.addons.map(({ addon, versions }) => addonTarget(addon, versions, f.targetVersion));
  for (const a of addons) if (a.targetVersion === undefined) blockers.push(`add-on ${a.name}: ${a.reason}`);

  const nodegroups = f.nodegroups.map((ng): NodegroupPlan => {
    const base = { name: ng.name, version: ng.version, releaseVersion: ng.releaseVersion };
    if (!withinKubeletSkew(ng.version, f.targetVersion)) {
      blockers.push(
        `node group ${ng.name} runs ${ng.version}: more than ${kubeletSkew(f.targetVersion)} minors behind ${f.targetVersion}, outside the kubelet skew once the control plane is upgraded; upgrade it first`,
      );
      return { ...base, update: false, reason: 'outside the kubelet skew of the target' };
    }
    if (ng.customAmi) {
      return {
        ...base,
        update: false,
        reason: 'custom AMI in its launch template: give the template an AMI for the new version yourself',
      };
    }
    if (ng.version !== f.targetVersion && ng.status !== undefined && ng.status !== 'ACTIVE') {
      blockers.push(
        `node group ${ng.name} is ${ng.status}, not ACTIVE: EKS cannot update it until it is (look at its health issues)`,
      );
      return { ...base, update: false, reason: `${ng.status}, not ACTIVE` };
    }
    if (ng.version === f.targetVersion)
      return { ...base, update: false, reason: 'already at the target version' };
    return { ...base, update: true, reason: `${ng.version} → ${f.targetVersion}` };
  });

  blockers.push(...subnetProblems(f.subnets, f.minFreeIps));

  const controlPlaneUpdate = f.currentVersion !== f.targetVersion;
  const report: Omit<PreflightReport, 'summary'> = {
    cluster: f.cluster,
    currentVersion: f.currentVersion,
    targetVersion: f.targetVersion,
    controlPlaneUpdate,
    blockers,
    warnings,
    errors,
    addons,
    nodegroups,
    subnets: [...f.subnets],
    notTouched: [...f.unmanaged],
  };
  return { ...report, summary: summarizePreflight(report) };
}

/** the report in a few lines: what will change, what blocks, what is left alone */
export function summarizePreflight(r: Omit<PreflightReport, 'summary'>): string {
  const lines = [
    `EKS upgrade of ${r.cluster}: ${r.currentVersion} → ${r.targetVersion}` +
      (r.controlPlaneUpdate ? '' : ' (the control plane is already there)'),
  ];
  const addons = r.addons.filter((a) => a.update);
  lines.push(
    addons.length
      ? `Add-ons: ${addons.map((a) => `${a.name} ${a.currentVersion} → ${a.targetVersion}`).join(', ')}`
      : 'Add-ons: none to update',
  );
  const groups = r.nodegroups.filter((n) => n.update);
  lines.push(
    groups.length
      ? `Managed node groups: ${groups.map((n) => n.name).join(', ')}, one at a time`
      : 'Managed node groups: none to update',
  );
  for (const w of r.warnings) {
    lines.push(`WARNING ${w.name}: ${w.reason}${w.recommendation ? ` — ${w.recommendation}` : ''}`);
  }
  for (const n of r.notTouched) {
    lines.push(`Not touched (${n.kind}): ${n.name}, ${n.nodes} node(s): upgrade them yourself`);
  }
  lines.push(r.blockers.length ? `BLOCKED:\n- ${r.blockers.join('\n- ')}` : 'No blockers.');
  return lines.join('\n');
}

// ---- updates ----

export type UpdateStatus = 'InProgress' | 'Failed' | 'Cancelled' | 'Successful';

export interface UpdateError {
  errorCode: string;
  errorMessage: string;
  resourceIds: string[];
}

export interface EksUpdate {
  id: string;
  status: UpdateStatus;
  type?: string;
  errors: UpdateError[];
}

/** one thing a campaign changes: the control plane, an add-on or a node group */
export type UpdateTarget =
  | { kind: 'cluster'; version: string }
  | { kind: 'addon'; name: string; addonVersion: string }
  | { kind: 'nodegroup'; name: string; version?: string; releaseVersion?: string };

/** how long each kind of update is waited on between checks, seconds (the ASL's Wait states) */
export const EKS_CHECK_SECONDS = { cluster: 60, addon: 15, nodegroup: 60 } as const;

/** how many checks fit in `minutes` for this kind: the deadline counted in the state */
export function maxChecks(kind: UpdateTarget['kind'], minutes: number): number {
  return Math.max(1, Math.ceil((minutes * 60) / EKS_CHECK_SECONDS[kind]));
}

/** `control plane 1.32`, `add-on vpc-cni v1.19.2-eksbuild.1`, `node group ng-a 1.32` */
export function describeTarget(t: UpdateTarget): string {
  if (t.kind === 'cluster') return `control plane ${t.version}`;
  if (t.kind === 'addon') return `add-on ${t.name} ${t.addonVersion}`;
  return `node group ${t.name} ${t.version ?? `AMI ${t.releaseVersion ?? 'latest'}`}`;
}

/** a pod as Kubernetes names it in messages: `namespace/name` */
const POD = /\b([a-z0-9]([-a-z0-9]*[a-z0-9])?\/[a-z0-9]([-.a-z0-9]*[a-z0-9])?)\b/g;

/**
 * What a failed or cancelled update says, one line per error; a PodEvictionFailure names the
 * pods (and nodes) EKS gave, and says what to do about them.
 */
export function describeUpdateErrors(target: UpdateTarget, update: EksUpdate, forced: boolean): string {
  const head = `${describeTarget(target)}: update ${update.id} ended ${update.status}`;
  if (update.errors.length === 0) return `${head} (EKS gave no error detail)`;
  const lines = update.errors.map((e) => {
    const named = e.resourceIds.length ? ` [${e.resourceIds.join(', ')}]` : '';
    if (e.errorCode !== 'PodEvictionFailure') return `${e.errorCode}: ${e.errorMessage}${named}`;
    const pods = [
      ...new Set([...e.resourceIds, e.errorMessage].flatMap((s) => [...s.matchAll(POD)].map((m) => m[1]!))),
    ];
    return (
      `PodEvictionFailure: ${e.errorMessage}${named}. ` +
      (pods.length ? `Pods that could not be evicted: ${pods.join(', ')}. ` : '') +
      'A PodDisruptionBudget or a pod without a controller keeps the nodes from draining; fix it and run again' +
      (forced ? '' : ', or set eks.forceNodegroupUpdate to true to replace the nodes regardless')
    );
  });
  return `${head}:\n${lines.join('\n')}`;
}

// ---- node-group patching ----

export interface PatchPlanEntry {
  name: string;
  version: string;
  releaseVersion?: string;
  latestReleaseVersion?: string;
  update: boolean;
  reason: string;
}

/**
 * Which managed node groups move to the newest AMI release for their own Kubernetes version:
 * those behind it. A group already current, with a custom AMI, or whose AMI type has no
 * published release (Windows, an unknown type) is listed with the reason and left alone.
 */
export function patchPlan(
  nodegroups: readonly ManagedNodegroup[],
  latest: (ng: ManagedNodegroup) => string | undefined,
): PatchPlanEntry[] {
  return nodegroups.map((ng) => {
    const base = { name: ng.name, version: ng.version, releaseVersion: ng.releaseVersion };
    if (ng.customAmi) {
      return {
        ...base,
        update: false,
        reason: 'custom AMI in its launch template: patch the template yourself',
      };
    }
    const newest = latest(ng);
    if (!newest) {
      return {
        ...base,
        update: false,
        reason: `no published AMI release for ${ng.amiType ?? 'its AMI type'} ${ng.version}`,
      };
    }
    if (ng.releaseVersion === newest) {
      return {
        ...base,
        latestReleaseVersion: newest,
        update: false,
        reason: 'already on the newest AMI release',
      };
    }
    return {
      ...base,
      latestReleaseVersion: newest,
      update: true,
      reason: `${ng.releaseVersion ?? 'unknown'} → ${newest}`,
    };
  });
}
