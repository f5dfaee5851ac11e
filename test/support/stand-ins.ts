import { resolve } from 'node:path';
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
