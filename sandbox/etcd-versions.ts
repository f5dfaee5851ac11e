import { execFileSync } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The etcd versions Caretaker supports and tests: Debian's 3.4 (the oldest supported, the
 * `etcd-server`/`etcd-client` packages, no etcdutl) and the newest 3.5 and 3.6 releases, built from
 * their Go modules by tools/build.sh into a cache (tools/etcd-3.5, tools/etcd-3.6).
 */
export const ETCD_VERSIONS = ['3.4', '3.5', '3.6'] as const;
export type EtcdVersion = (typeof ETCD_VERSIONS)[number];
/** what Kubernetes ≥ 1.34 ships, and so the sandbox's default */
export const DEFAULT_ETCD_VERSION: EtcdVersion = '3.6';

/** where one version's binaries are */
export interface EtcdBinaries {
  version: EtcdVersion;
  /** the directory holding etcd and etcdctl (and etcdutl from 3.5): what node scripts get on PATH */
  binDir: string;
  etcd: string;
  etcdctl: string;
  /** undefined for 3.4, which has no etcdutl */
  etcdutl?: string;
}

const BUILD_SCRIPT = resolve(__dirname, '..', 'tools', 'build.sh');

export function isEtcdVersion(value: string): value is EtcdVersion {
  return (ETCD_VERSIONS as readonly string[]).includes(value);
}

/**
 * The binaries of `version`. 3.4 is Debian's in /usr/bin (CARETAKER_ETCD_BIN and
 * CARETAKER_ETCDCTL_BIN override it, as before); 3.5 and 3.6 are in tools/build.sh's cache. Whether
 * they exist is {@link missingEtcdBinaries}'s question, not this one's.
 */
export function etcdBinaries(version: EtcdVersion): EtcdBinaries {
  if (version === '3.4') {
    const etcd = process.env.CARETAKER_ETCD_BIN ?? '/usr/bin/etcd';
    return {
      version,
      binDir: '/usr/bin',
      etcd,
      etcdctl: process.env.CARETAKER_ETCDCTL_BIN ?? '/usr/bin/etcdctl',
    };
  }
  const binDir = execFileSync('bash', [BUILD_SCRIPT, '--print-dir', `etcd-${version}`], {
    encoding: 'utf8',
  }).trim();
  return {
    version,
    binDir,
    etcd: join(binDir, 'etcd'),
    etcdctl: join(binDir, 'etcdctl'),
    etcdutl: join(binDir, 'etcdutl'),
  };
}

/**
 * The binaries of `b` that are not there (`isMissing`, default: not an executable file), each
 * with the command that provides it.
 */
export function missingEtcdBinaries(
  b: EtcdBinaries,
  isMissing: (path: string) => boolean = notExecutable,
): { path: string; remedy: string }[] {
  const remedy =
    b.version === '3.4'
      ? 'apt-get install -y etcd-server etcd-client'
      : `bash tools/build.sh etcd-${b.version} (needs Go, once per version)`;
  return [b.etcd, b.etcdctl, ...(b.etcdutl ? [b.etcdutl] : [])]
    .filter(isMissing)
    .map((path) => ({ path, remedy }));
}

function notExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return false;
  } catch {
    return true;
  }
}

/**
 * The versions the integration tests run against: `CARETAKER_ETCD_VERSIONS` (comma-separated,
 * e.g. `3.6` or `3.4,3.6`), default all of {@link ETCD_VERSIONS}.
 * @throws Error naming an unknown version, or a version whose binaries are missing (a test
 *   matrix that silently shrinks would prove nothing).
 */
export function etcdVersionsUnderTest(env: NodeJS.ProcessEnv = process.env): EtcdBinaries[] {
  const wanted = (env.CARETAKER_ETCD_VERSIONS ?? ETCD_VERSIONS.join(','))
    .split(',')
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
  return wanted.map((v) => {
    if (!isEtcdVersion(v)) {
      throw new Error(
        `CARETAKER_ETCD_VERSIONS: unknown etcd version '${v}' (supported: ${ETCD_VERSIONS.join(', ')})`,
      );
    }
    const binaries = etcdBinaries(v);
    const missing = missingEtcdBinaries(binaries);
    if (missing.length > 0) {
      throw new Error(
        `etcd ${v}: missing ${missing.map((m) => m.path).join(', ')}; run: ${missing[0]!.remedy}`,
      );
    }
    return binaries;
  });
}
