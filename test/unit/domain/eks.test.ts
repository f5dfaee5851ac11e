import {
  addonTarget,
  compareAddonVersions,
  describeUpdateErrors,
  kubeletSkew,
  maxChecks,
  nextMinor,
  patchPlan,
  preflightReport,
  subnetProblems,
  upgradeTarget,
  withinKubeletSkew,
  type AddonVersion,
  type PreflightFacts,
} from '../../../functions/shared/domain/eks';
import { InvalidInputError } from '../../../functions/shared/errors';
import { sandboxEksState } from '../../../sandbox/local-eks';

const versions = (list: [string, string, boolean][]): AddonVersion[] =>
  list.map(([version, clusterVersion, defaultVersion]) => ({
    version,
    compatibilities: [{ clusterVersion, defaultVersion }],
  }));

describe('upgrade target', () => {
  it('is the next minor when none is asked for', () => {
    expect(upgradeTarget('1.31', undefined)).toBe('1.32');
    expect(nextMinor('1.9')).toBe('1.10');
  });

  it('accepts the next minor and the current one (a re-run)', () => {
    expect(upgradeTarget('1.31', '1.32')).toBe('1.32');
    expect(upgradeTarget('1.31', '1.31')).toBe('1.31');
  });

  it('rejects a target version that skips a minor release, naming the field and the next one', () => {
    expect(() => upgradeTarget('1.31', '1.33')).toThrow(InvalidInputError);
    expect(() => upgradeTarget('1.31', '1.33')).toThrow(
      'version: 1.33 skips a minor release; the cluster runs 1.31, so the next upgrade is to 1.32',
    );
    expect(() => upgradeTarget('1.31', '2.0')).toThrow('skips a minor release');
  });

  it('rejects a downgrade', () => {
    expect(() => upgradeTarget('1.31', '1.30')).toThrow('version: 1.30 is older than the cluster');
  });

  it.each(['1', '1.31.2', 'v1.32', 'latest', ''])('rejects the malformed version "%s"', (v) => {
    expect(() => upgradeTarget('1.31', v)).toThrow(/^version: ".*" is not a Kubernetes minor version/);
  });
});

describe('kubelet skew', () => {
  it('allows three minors from Kubernetes 1.28 and two before', () => {
    expect(kubeletSkew('1.28')).toBe(3);
    expect(kubeletSkew('1.27')).toBe(2);
    expect(withinKubeletSkew('1.29', '1.32')).toBe(true);
    expect(withinKubeletSkew('1.28', '1.32')).toBe(false);
    expect(withinKubeletSkew('1.25', '1.27')).toBe(true);
    expect(withinKubeletSkew('1.24', '1.27')).toBe(false);
  });

  it('rejects a kubelet newer than the API server', () => {
    expect(withinKubeletSkew('1.33', '1.32')).toBe(false);
  });
});

describe('add-on target', () => {
  const vpcCni = versions([
    ['v1.19.2-eksbuild.1', '1.32', true],
    ['v1.19.0-eksbuild.1', '1.32', false],
    ['v1.20.0-eksbuild.1', '1.32', false],
  ]);

  it('orders versions by semver, then eksbuild', () => {
    expect(compareAddonVersions('v1.19.2-eksbuild.2', 'v1.19.2-eksbuild.1')).toBeGreaterThan(0);
    expect(compareAddonVersions('v1.9.0-eksbuild.1', 'v1.19.0-eksbuild.1')).toBeLessThan(0);
  });

  it('picks the default version for the new Kubernetes version', () => {
    expect(addonTarget({ name: 'vpc-cni', version: 'v1.18.3-eksbuild.2' }, vpcCni, '1.32')).toEqual({
      name: 'vpc-cni',
      currentVersion: 'v1.18.3-eksbuild.2',
      targetVersion: 'v1.19.2-eksbuild.1',
      update: true,
      reason: 'the default version for Kubernetes 1.32',
    });
  });

  it('leaves an add-on at the default, or at a newer compatible version, where it is', () => {
    expect(addonTarget({ name: 'vpc-cni', version: 'v1.19.2-eksbuild.1' }, vpcCni, '1.32')).toMatchObject({
      update: false,
      targetVersion: 'v1.19.2-eksbuild.1',
    });
    expect(addonTarget({ name: 'vpc-cni', version: 'v1.20.0-eksbuild.1' }, vpcCni, '1.32')).toMatchObject({
      update: false,
      targetVersion: 'v1.20.0-eksbuild.1',
    });
  });

  it('has no target when EKS offers no version for the new Kubernetes version', () => {
    const t = addonTarget(
      { name: 'vendor-agent', version: 'v2.0.0-eksbuild.1' },
      versions([['v2.0.0-eksbuild.1', '1.31', true]]),
      '1.32',
    );
    expect(t).toEqual({
      name: 'vendor-agent',
      currentVersion: 'v2.0.0-eksbuild.1',
      update: false,
      reason: 'EKS offers no version of vendor-agent for Kubernetes 1.32',
    });
  });
});

describe('subnets', () => {
  it('needs the configured number of free addresses across the cluster subnets', () => {
    expect(
      subnetProblems(
        [
          { subnetId: 'subnet-a', availableIps: 3 },
          { subnetId: 'subnet-b', availableIps: 2 },
        ],
        5,
      ),
    ).toEqual([]);
    expect(
      subnetProblems(
        [
          { subnetId: 'subnet-a', availableIps: 2 },
          { subnetId: 'subnet-b', availableIps: 1 },
        ],
        5,
      ),
    ).toEqual([
      "the cluster's subnets have 3 free IP address(es) in all (subnet-a: 2, subnet-b: 1); an EKS control-plane update needs at least 5",
    ]);
    expect(subnetProblems([], 5)).toHaveLength(1);
  });
});

describe('preflight report', () => {
  const facts = (): PreflightFacts => {
    const s = sandboxEksState('prod-eks');
    return {
      cluster: 'prod-eks',
      currentVersion: '1.31',
      targetVersion: '1.32',
      insights: s.insights,
      addons: Object.entries(s.addons).map(([name, version]) => ({
        addon: { name, version },
        versions: s.addonVersions[name]!,
      })),
      nodegroups: Object.entries(s.nodegroups).map(([name, ng]) => ({ name, ...ng })),
      subnets: s.subnets,
      unmanaged: s.unmanaged,
      minFreeIps: 5,
    };
  };

  it('has no blocker for a ready cluster, reports WARNINGs with their recommendation and what it leaves alone', () => {
    const r = preflightReport(facts());

    expect(r.blockers).toEqual([]);
    expect(r.warnings).toEqual([
      expect.objectContaining({
        name: 'Deprecated APIs removed in Kubernetes v1.32',
        recommendation: expect.stringContaining('Update manifests and API clients'),
        resources: ['/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas'],
      }),
    ]);
    expect(r.nodegroups.map((n) => [n.name, n.update])).toEqual([
      ['general-a', true],
      ['general-b', true],
    ]);
    expect(r.summary).toContain('Not touched (karpenter): Karpenter NodePool default, 3 node(s)');
    expect(r.summary).toContain('No blockers.');
  });

  it('blocks on an insight at ERROR, a node group outside the skew and too few free IPs, all at once', () => {
    const f = facts();
    const r = preflightReport({
      ...f,
      insights: [
        ...f.insights,
        {
          id: 'x',
          name: 'Cluster health issues',
          kubernetesVersion: '1.32',
          status: 'ERROR',
          reason: 'ENI limit',
          recommendation: 'Fix it',
        },
        {
          id: 'y',
          name: 'Old version insight',
          kubernetesVersion: '1.31',
          status: 'ERROR',
          reason: 'not this upgrade',
        },
      ],
      nodegroups: [{ name: 'legacy', version: '1.28' }],
      subnets: [{ subnetId: 'subnet-a', availableIps: 1 }],
    });

    expect(r.blockers).toEqual([
      'upgrade insight "Cluster health issues" is ERROR: ENI limit (recommendation: Fix it)',
      'node group legacy runs 1.28: more than 3 minors behind 1.32, outside the kubelet skew once the control plane is upgraded; upgrade it first',
      expect.stringContaining('1 free IP address(es)'),
    ]);
    expect(r.errors.map((e) => e.name)).toEqual(['Cluster health issues']);
  });

  it('blocks while the cluster or a node group to update is not ACTIVE', () => {
    const r = preflightReport({
      ...facts(),
      clusterStatus: 'UPDATING',
      nodegroups: [{ name: 'sick', version: '1.31', status: 'DEGRADED' }],
    });
    expect(r.blockers).toEqual([
      'the cluster is UPDATING, not ACTIVE: EKS starts no update until it is (another update may be running)',
      'node group sick is DEGRADED, not ACTIVE: EKS cannot update it until it is (look at its health issues)',
    ]);
  });

  it('leaves a node group with a custom AMI alone and says why', () => {
    const r = preflightReport({
      ...facts(),
      nodegroups: [{ name: 'gpu', version: '1.31', customAmi: true }],
    });
    expect(r.nodegroups).toEqual([
      expect.objectContaining({ name: 'gpu', update: false, reason: expect.stringContaining('custom AMI') }),
    ]);
    expect(r.blockers).toEqual([]);
  });
});

describe('update errors', () => {
  it('names the pods of a PodEvictionFailure and the force option when it is off', () => {
    const text = describeUpdateErrors(
      { kind: 'nodegroup', name: 'general-a', version: '1.32' },
      {
        id: 'u-1',
        status: 'Failed',
        errors: [
          {
            errorCode: 'PodEvictionFailure',
            errorMessage: 'Reached max retries while trying to evict pods from nodes in node group general-a',
            resourceIds: ['payments/api-7d9f8c6b5-x2x4q', 'kube-system/coredns-5d78c9869d-abcde'],
          },
        ],
      },
      false,
    );
    expect(text).toContain('node group general-a 1.32: update u-1 ended Failed');
    expect(text).toContain(
      'Pods that could not be evicted: payments/api-7d9f8c6b5-x2x4q, kube-system/coredns-5d78c9869d-abcde',
    );
    expect(text).toContain('eks.forceNodegroupUpdate');
  });

  it('says when EKS gave no detail', () => {
    expect(
      describeUpdateErrors(
        { kind: 'cluster', version: '1.32' },
        { id: 'u', status: 'Cancelled', errors: [] },
        false,
      ),
    ).toBe('control plane 1.32: update u ended Cancelled (EKS gave no error detail)');
  });

  it('counts the checks that fit in the deadline', () => {
    expect(maxChecks('cluster', 90)).toBe(90);
    expect(maxChecks('addon', 30)).toBe(120);
  });
});

describe('patch plan', () => {
  it('moves only groups behind the newest release, and says why the others stay', () => {
    const plan = patchPlan(
      [
        { name: 'a', version: '1.31', releaseVersion: '1.31.2-20241121', amiType: 'AL2023_x86_64_STANDARD' },
        { name: 'b', version: '1.31', releaseVersion: '1.31.3-20250103', amiType: 'AL2023_x86_64_STANDARD' },
        { name: 'c', version: '1.31', amiType: 'CUSTOM', customAmi: true },
        { name: 'd', version: '1.31', releaseVersion: '1.31.0', amiType: 'WINDOWS_CORE_2022_x86_64' },
      ],
      (ng) => (ng.amiType === 'AL2023_x86_64_STANDARD' ? '1.31.3-20250103' : undefined),
    );
    expect(plan.map((p) => [p.name, p.update, p.reason])).toEqual([
      ['a', true, '1.31.2-20241121 → 1.31.3-20250103'],
      ['b', false, 'already on the newest AMI release'],
      ['c', false, 'custom AMI in its launch template: patch the template yourself'],
      ['d', false, 'no published AMI release for WINDOWS_CORE_2022_x86_64 1.31'],
    ]);
  });
});
