import { execFileSync } from 'node:child_process';
import { mkdir, symlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { EtcdBinaries } from '../../sandbox/etcd-versions';

/** directory of the recording stand-ins (crictl); put it first on PATH to use them */
export const STAND_IN_BIN_DIR = resolve(__dirname, 'bin');

/**
 * Environment for the crictl stand-in: its "etcd container" runs the etcdctl (and, from 3.5,
 * etcdutl) of `binaries`, as the kubeadm etcd image of that version would.
 */
export function crictlImageEnv(binaries: EtcdBinaries): Record<string, string> {
  return { CRICTL_ETCD_BIN_DIR: binaries.binDir };
}

/** how an etcd-manager image carries one etcd version's tools */
export type EtcdManagerLayout =
  /** kops with image volumes of registry.k8s.io/etcd: /opt/etcd-v<version>/usr/local/bin */
  | 'image-volume'
  /** older etcd-manager images (kopeio/etcd-manager images/BUILD): /opt/etcd-v<version>-linux-amd64 */
  | 'bundled';

/** `<tool> version` → x.y.z */
export function toolVersion(tool: string): string {
  const out = execFileSync(tool, ['version'], { encoding: 'utf8', env: { PATH: '/usr/bin:/bin' } });
  const version = /version: (\d+\.\d+\.\d+)/.exec(out)?.[1];
  if (!version) throw new Error(`no version in: ${out}`);
  return version;
}

/**
 * Lays out the root of an etcd-manager container for the crictl stand-in: one /opt/etcd-v<version>
 * directory per entry of `versions` (symlinks to the real tools of `binaries`; a version with no
 * binaries gets an empty directory, as a mount of another image would look to `ls`).
 * @returns the directory of `binaries`' own version inside the container (`/opt/...`)
 */
export async function etcdManagerRoot(
  root: string,
  binaries: EtcdBinaries,
  layout: EtcdManagerLayout,
  extraVersions: readonly string[] = [],
): Promise<string> {
  const version = toolVersion(binaries.etcdctl);
  const dirOf = (v: string) =>
    layout === 'image-volume' ? `/opt/etcd-v${v}/usr/local/bin` : `/opt/etcd-v${v}-linux-amd64`;
  const own = dirOf(version);
  await mkdir(join(root, own), { recursive: true });
  for (const [name, path] of [
    ['etcdctl', binaries.etcdctl],
    ['etcd', binaries.etcd],
    ['etcdutl', binaries.etcdutl],
  ] as const) {
    if (path) await symlink(path, join(root, own, name));
  }
  for (const v of extraVersions) await mkdir(join(root, dirOf(v)), { recursive: true });
  return own;
}

/** environment for the stand-in's kops layout: etcd-manager-main and etcd-manager-events pods */
export function etcdManagerEnv(mainRoot: string, eventsRoot: string): Record<string, string> {
  return { CRICTL_ETCD_MANAGER_MAIN_ROOT: mainRoot, CRICTL_ETCD_MANAGER_EVENTS_ROOT: eventsRoot };
}
