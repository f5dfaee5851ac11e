import {
  checkSkew,
  compareVersions,
  parseRelease,
  parseReported,
} from '../../../functions/shared/domain/kubernetes-version';

const cp = (...versions: string[]) => versions.map((version, i) => ({ node: `cp-${i + 1}`, version }));
const kubelets = (...versions: string[]) =>
  versions.map((version, i) => ({ node: `node-${i + 1}`, version }));

describe('Kubernetes versions', () => {
  it('parses a release with or without the leading v', () => {
    expect(parseRelease('v1.37.2')).toEqual({ major: 1, minor: 37, patch: 2, text: 'v1.37.2' });
    expect(parseRelease('1.37.2')?.text).toBe('v1.37.2');
  });

  it.each(['1.37', 'v1.37.x', 'v1.37.2-rc.1', 'latest', '', 'v01.37.2', 'v1.37.2; reboot'])(
    'rejects "%s" as a target release',
    (text) => {
      expect(parseRelease(text)).toBeUndefined();
    },
  );

  it('reads versions as components report them, build metadata ignored', () => {
    expect(parseReported('v1.36.4-eks-1a2b3c')?.text).toBe('v1.36.4');
    expect(parseReported('v1.36.4+k3s1')?.text).toBe('v1.36.4');
  });

  it('orders versions by major, minor and patch', () => {
    expect(compareVersions(parseRelease('v1.36.10')!, parseRelease('v1.37.0')!)).toBeLessThan(0);
    expect(compareVersions(parseRelease('v1.37.2')!, parseRelease('v1.37.2')!)).toBe(0);
  });
});

describe('checkSkew', () => {
  it('allows one minor step ahead of the control plane', () => {
    const v = checkSkew({
      target: 'v1.37.2',
      controlPlane: cp('v1.36.4', 'v1.36.4', 'v1.36.4'),
      kubelets: kubelets('v1.36.4', 'v1.35.0'),
    });

    expect(v.problems).toEqual([]);
    expect(v.from?.text).toBe('v1.36.4');
    expect(v.upToDate).toEqual([]);
  });

  it('allows a patch release within the minor', () => {
    expect(checkSkew({ target: 'v1.36.9', controlPlane: cp('v1.36.4'), kubelets: [] }).problems).toEqual([]);
  });

  it('rejects a target version that skips a minor release', () => {
    const v = checkSkew({ target: 'v1.38.0', controlPlane: cp('v1.36.4', 'v1.36.4'), kubelets: [] });

    expect(v.problems).toEqual([
      'v1.38.0 is 2 minor releases ahead of the control plane (v1.36.4); upgrade one minor at a time (next: v1.37.x)',
    ]);
  });

  it('counts from the oldest API server of a half-upgraded control plane', () => {
    const v = checkSkew({ target: 'v1.38.0', controlPlane: cp('v1.37.2', 'v1.36.4'), kubelets: [] });

    expect(v.problems.join()).toContain('2 minor releases ahead');
  });

  it('rejects a downgrade', () => {
    const v = checkSkew({ target: 'v1.36.1', controlPlane: cp('v1.36.4'), kubelets: [] });

    expect(v.problems).toEqual(["cp-1's API server runs v1.36.4: v1.36.1 would be a downgrade"]);
  });

  it('rejects a kubelet newer than the target', () => {
    const v = checkSkew({ target: 'v1.37.0', controlPlane: cp('v1.36.4'), kubelets: kubelets('v1.37.1') });

    expect(v.problems).toEqual(["node-1's kubelet runs v1.37.1, newer than the target v1.37.0"]);
  });

  it('rejects a target more than three minors ahead of a kubelet', () => {
    const v = checkSkew({ target: 'v1.37.2', controlPlane: cp('v1.36.4'), kubelets: kubelets('v1.33.7') });

    expect(v.problems).toEqual([
      "node-1's kubelet runs v1.33.7: more than 3 minors behind v1.37.2; upgrade the kubelets first",
    ]);
  });

  it('rejects a malformed target, naming the field', () => {
    expect(checkSkew({ target: '1.37', controlPlane: cp('v1.36.4'), kubelets: [] }).problems).toEqual([
      'version: "1.37" is not a Kubernetes release such as v1.37.2',
    ]);
  });

  it('rejects a change of major version and an unreadable reported version', () => {
    const v = checkSkew({ target: 'v2.0.0', controlPlane: cp('v1.36.4', 'garbage'), kubelets: [] });

    expect(v.problems).toEqual([
      'cp-2: its API server reports "garbage", not a Kubernetes version',
      'cp-1 runs v1.36.4: an upgrade to v2.0.0 changes the major version',
    ]);
  });

  it('names the nodes already at the target (a resumed upgrade)', () => {
    const v = checkSkew({
      target: 'v1.37.2',
      controlPlane: cp('v1.37.2', 'v1.36.4'),
      kubelets: [
        { node: 'cp-1', version: 'v1.37.2' },
        { node: 'cp-2', version: 'v1.36.4' },
      ],
    });

    expect(v.problems).toEqual([]);
    expect(v.upToDate).toEqual(['cp-1']);
  });
});
