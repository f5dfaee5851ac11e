/**
 * Kubernetes versions and the version skew policy an upgrade must respect
 * (https://kubernetes.io/releases/version-skew-policy/): the control plane moves one minor
 * release at a time, never backwards, and a kubelet is never newer than the API server nor more
 * than three minors older. Pure: no AWS, no I/O.
 */

export interface KubernetesVersion {
  major: number;
  minor: number;
  patch: number;
  /** `v1.37.2`: the canonical spelling (a leading v, no build metadata) */
  text: string;
}

/** a release Caretaker upgrades to: `v1.37.2` or `1.37.2`; pre-releases and build suffixes are refused */
const RELEASE = /^v?(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,3})$/;
/** what kubelets and API servers report: `v1.37.2`, `v1.37.2-eks-1234`, `v1.37.2+k3s1` */
const REPORTED = /^v?(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,2})\.(0|[1-9]\d{0,3})([-+][0-9A-Za-z.+-]*)?$/;

/** how many minors a kubelet may lag the API server (n-3 since Kubernetes 1.28) */
export const KUBELET_MAX_MINOR_LAG = 3;

function build(m: RegExpExecArray): KubernetesVersion {
  const [major, minor, patch] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return { major, minor, patch, text: `v${major}.${minor}.${patch}` };
}

/**
 * A target release as a person writes it.
 * @returns undefined when it is not `[v]MAJOR.MINOR.PATCH`
 */
export function parseRelease(text: string): KubernetesVersion | undefined {
  const m = RELEASE.exec(text.trim());
  return m ? build(m) : undefined;
}

/** a version as a component reports it (build metadata ignored); undefined when unreadable */
export function parseReported(text: string): KubernetesVersion | undefined {
  const m = REPORTED.exec(text.trim());
  return m ? build(m) : undefined;
}

/** negative, 0 or positive as `a` is older, the same release or newer than `b` */
export function compareVersions(a: KubernetesVersion, b: KubernetesVersion): number {
  return a.major - b.major || a.minor - b.minor || a.patch - b.patch;
}

/** `v1.37` */
export function minorOf(v: KubernetesVersion): string {
  return `v${v.major}.${v.minor}`;
}

export interface SkewInput {
  /** the target as the user gave it */
  target: string;
  /** the version each control-plane node's API server runs now, by node name */
  controlPlane: readonly { node: string; version: string }[];
  /** every Node's kubelet version (control-plane and workers), by node name */
  kubelets: readonly { node: string; version: string }[];
}

export interface SkewVerdict {
  /** one line per reason the upgrade is refused; empty = allowed */
  problems: string[];
  target?: KubernetesVersion;
  /** the oldest API server: where the upgrade starts from */
  from?: KubernetesVersion;
  /** nodes whose API server and kubelet already run the target (a resumed upgrade) */
  upToDate: string[];
}

/**
 * Checks an upgrade of the control plane to `target` against the skew policy: a well-formed
 * release, the same major, not older than any API server or kubelet (no downgrade), at most one
 * minor ahead of the oldest API server (no skipped minor), and every kubelet within
 * {@link KUBELET_MAX_MINOR_LAG} minors of the target afterwards (kubelets included).
 */
export function checkSkew(input: SkewInput): SkewVerdict {
  const problems: string[] = [];
  const target = parseRelease(input.target);
  if (!target) {
    return {
      problems: [`version: "${input.target}" is not a Kubernetes release such as v1.37.2`],
      upToDate: [],
    };
  }
  if (input.controlPlane.length === 0) problems.push('no control-plane node reported its version');
  const readable = (list: SkewInput['controlPlane'], what: string) =>
    list.flatMap((c) => {
      const v = parseReported(c.version);
      if (!v) problems.push(`${c.node}: its ${what} reports "${c.version}", not a Kubernetes version`);
      return v ? [{ node: c.node, v }] : [];
    });
  const apis = readable(input.controlPlane, 'API server');
  const kubelets = readable(input.kubelets, 'kubelet');
  const from = [...apis].sort((a, b) => compareVersions(a.v, b.v))[0]?.v;
  for (const { node, v } of [...apis, ...kubelets]) {
    if (v.major !== target.major) {
      problems.push(`${node} runs ${v.text}: an upgrade to ${target.text} changes the major version`);
    }
  }
  for (const { node, v } of apis) {
    if (compareVersions(target, v) < 0) {
      problems.push(`${node}'s API server runs ${v.text}: ${target.text} would be a downgrade`);
    }
  }
  if (from && from.major === target.major && target.minor - from.minor > 1) {
    problems.push(
      `${target.text} is ${target.minor - from.minor} minor releases ahead of the control plane (${from.text}); ` +
        `upgrade one minor at a time (next: ${minorOf({ ...from, minor: from.minor + 1 })}.x)`,
    );
  }
  for (const { node, v } of kubelets) {
    if (v.major !== target.major) continue;
    if (compareVersions(v, target) > 0) {
      problems.push(`${node}'s kubelet runs ${v.text}, newer than the target ${target.text}`);
    } else if (target.minor - v.minor > KUBELET_MAX_MINOR_LAG) {
      problems.push(
        `${node}'s kubelet runs ${v.text}: more than ${KUBELET_MAX_MINOR_LAG} minors behind ${target.text}; upgrade the kubelets first`,
      );
    }
  }
  const upToDate = apis
    .filter(
      ({ node, v }) =>
        compareVersions(v, target) === 0 &&
        kubelets.some((k) => k.node === node && compareVersions(k.v, target) === 0),
    )
    .map((a) => a.node);
  return { problems, target, from, upToDate };
}

/**
 * Checks a kubelet upgrade of the workers to `target` against the skew policy: a well-formed
 * release of the API server's major version, never newer than the API server (a kubelet may not
 * be newer than kube-apiserver).
 * @returns one line per reason the kubelet upgrade is refused; empty = allowed
 */
export function checkKubeletTarget(target: string, apiServerVersion: string): string[] {
  const t = parseRelease(target);
  if (!t) return [`kubernetesVersion: "${target}" is not a Kubernetes release such as v1.37.2`];
  const api = parseReported(apiServerVersion);
  if (!api) {
    return [
      `the API server's version could not be read ("${apiServerVersion}"): a kubelet upgrade to ${t.text} needs it to respect the version skew policy`,
    ];
  }
  if (t.major !== api.major) {
    return [`kubernetesVersion ${t.text}: the API server runs ${api.text}, another major version`];
  }
  if (compareVersions(t, api) > 0) {
    return [
      `kubernetesVersion ${t.text} is newer than the API server (${api.text}): a kubelet may not be newer than kube-apiserver; upgrade the control plane first (caretaker upgrade)`,
    ];
  }
  return [];
}

/** does a kubelet reporting `reported` already run `target` or newer? false when unreadable */
export function kubeletAtOrPast(reported: string | undefined, target: KubernetesVersion): boolean {
  const v = reported === undefined ? undefined : parseReported(reported);
  return v !== undefined && compareVersions(v, target) >= 0;
}
