/**
 * EKS in memory for service and workflow tests: the same starting cluster as the sandbox's
 * LocalEks (sandboxEksState), updates that end after a given number of DescribeUpdate calls
 * (deterministic, no timers), failures on request, and a record of every call.
 */
import type { EksUpdate, UpdateError, UpdateTarget } from '../../functions/shared/domain/eks';
import { parseConfig, type ClusterConfig } from '../../functions/shared/domain/config';
import { ClusterNotFoundError } from '../../functions/shared/errors';
import type { EksApi, EksSurroundings } from '../../functions/shared/ports';
import { sandboxEksState, type LocalEksState } from '../../sandbox/local-eks';

interface FakeUpdate {
  target: UpdateTarget;
  update: EksUpdate;
  checksLeft: number;
  ending: { status: 'Successful' | 'Failed' | 'Cancelled'; errors: UpdateError[] };
}

const resourceOf = (t: UpdateTarget) => (t.kind === 'cluster' ? 'cluster' : `${t.kind}/${t.name}`);

export class FakeEks implements EksApi, EksSurroundings {
  readonly state: LocalEksState;
  readonly calls: { op: string; args: unknown[] }[] = [];
  readonly updates = new Map<string, FakeUpdate>();
  /** DescribeUpdate calls an update stays InProgress for */
  checksToFinish = 2;
  private readonly failures = new Map<string, FakeUpdate['ending']>();
  private next = 1;

  constructor(name = 'prod-eks', state?: LocalEksState) {
    this.state = state ?? sandboxEksState(name);
  }

  /** the next update of `resource` (`cluster`, `addon/coredns`, `nodegroup/general-a`) ends so */
  failNext(resource: string, errors: UpdateError[], status: 'Failed' | 'Cancelled' = 'Failed'): void {
    this.failures.set(resource, { status, errors });
  }

  /** the calls that changed something */
  changes() {
    return this.calls.filter((c) => c.op === 'startUpdate').map((c) => c.args[1] as UpdateTarget);
  }

  private record(op: string, ...args: unknown[]) {
    this.calls.push({ op, args });
  }

  async describeCluster(name: string) {
    this.record('describeCluster', name);
    if (name !== this.state.name) throw new ClusterNotFoundError(`EKS has no cluster named "${name}"`);
    return {
      name,
      version: this.state.version,
      status: 'ACTIVE',
      subnetIds: this.state.subnetIds,
      autoMode: this.state.autoMode === true,
    };
  }

  async upgradeInsights(cluster: string) {
    this.record('upgradeInsights', cluster);
    return this.state.insights;
  }

  async listAddons(cluster: string) {
    this.record('listAddons', cluster);
    return Object.entries(this.state.addons).map(([name, version]) => ({ name, version }));
  }

  async addonVersions(addon: string, kubernetesVersion: string) {
    this.record('addonVersions', addon, kubernetesVersion);
    return (this.state.addonVersions[addon] ?? []).filter((v) =>
      v.compatibilities.some((c) => c.clusterVersion === kubernetesVersion),
    );
  }

  async managedNodegroups(cluster: string) {
    this.record('managedNodegroups', cluster);
    return Object.entries(this.state.nodegroups).map(([name, ng]) => ({
      name,
      version: ng.version,
      releaseVersion: ng.releaseVersion,
      amiType: ng.amiType,
      customAmi: ng.amiType === 'CUSTOM',
    }));
  }

  async startUpdate(cluster: string, target: UpdateTarget, options: { force: boolean; token: string }) {
    this.record('startUpdate', cluster, target, options);
    const same = [...this.updates.entries()].find(([, u]) => u.update.type === options.token);
    if (same) return { updateId: same[0] };
    const id = `00000000-0000-4000-8000-${String(this.next++).padStart(12, '0')}`;
    const resource = resourceOf(target);
    const ending = this.failures.get(resource) ?? { status: 'Successful' as const, errors: [] };
    this.failures.delete(resource);
    this.updates.set(id, {
      target,
      // the token rides in `type` so a repeated token finds its update
      update: { id, status: 'InProgress', type: options.token, errors: [] },
      checksLeft: this.checksToFinish,
      ending,
    });
    return { updateId: id };
  }

  async describeUpdate(cluster: string, updateId: string, target: UpdateTarget) {
    this.record('describeUpdate', cluster, updateId, target);
    const u = this.updates.get(updateId);
    if (!u || resourceOf(u.target) !== resourceOf(target))
      throw new Error(`ResourceNotFoundException: ${updateId}`);
    if (u.update.status === 'InProgress' && --u.checksLeft <= 0) {
      u.update = { ...u.update, status: u.ending.status, errors: u.ending.errors };
      if (u.ending.status === 'Successful') this.apply(u.target);
    }
    return { ...u.update, type: 'VersionUpdate' };
  }

  private apply(t: UpdateTarget) {
    if (t.kind === 'cluster') this.state.version = t.version;
    else if (t.kind === 'addon') this.state.addons[t.name] = t.addonVersion;
    else {
      const ng = this.state.nodegroups[t.name]!;
      if (t.version) ng.version = t.version;
      ng.releaseVersion =
        t.releaseVersion ?? this.state.latestReleases[`${ng.amiType}/${ng.version}`] ?? ng.releaseVersion;
    }
  }

  async subnets(ids: readonly string[]) {
    this.record('subnets', ids);
    return this.state.subnets.filter((s) => ids.includes(s.subnetId));
  }

  async unmanagedCapacity(cluster: string) {
    this.record('unmanagedCapacity', cluster);
    return this.state.unmanaged;
  }

  async latestReleaseVersion(amiType: string, version: string) {
    this.record('latestReleaseVersion', amiType, version);
    return this.state.latestReleases[`${amiType}/${version}`];
  }
}

/** an EKS cluster and a kubeadm one, resolved as the stack stores them */
export function eksTestClusters(eks: Record<string, unknown> = {}): ClusterConfig[] {
  return parseConfig({
    clusters: [
      { name: 'prod-eks', kind: 'eks', region: 'eu-west-1', eks },
      { name: 'prod-eu', kind: 'kubeadm', region: 'eu-west-1' },
    ],
  }).clusters;
}
