import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommandResult } from '../../../functions/shared/domain/command-result';
import { kubeletUpgradeResult } from '../../../functions/shared/domain/commands/kubelet-upgrade';
import { KUBE_STAND_IN_DIR } from '../../../sandbox/control-plane-upgrades';
import { PACKAGE_STAND_IN_DIR } from '../../../sandbox/fleet/packages';
import { runScript } from '../../../sandbox/run-script';

/**
 * ssm-documents/kubelet-upgrade.sh on a "worker" whose kubeadm, systemctl, apt and dnf are the
 * recording stand-in (sandbox/stand-ins/kube-stand-in): the exact package pinning (the logic it
 * shares with control-plane-upgrade in lib/kubernetes-packages.sh), kubeadm's worker step and the
 * kubelet restart, asserted from the stand-in's log and what it asked the "sandbox".
 */
let root: string;
let server: Server;
let control: string;
let asked: string[];

beforeAll(async () => {
  server = createServer((req, res) => {
    asked.push(req.url ?? '');
    res.writeHead(200).end('ok\n');
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  control = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((ok) => server.close(() => ok())));

beforeEach(() => {
  asked = [];
  root = mkdtempSync(join(tmpdir(), 'caretaker-kubelet-upgrade-'));
  mkdirSync(join(root, 'proc', 'sys', 'kernel', 'random'), { recursive: true });
  writeFileSync(join(root, 'proc', 'sys', 'kernel', 'random', 'boot_id'), 'boot-7\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const upgrade = (version: string, packageManager = 'auto') =>
  runScript('kubelet-upgrade', {
    params: { Version: version, PackageManager: packageManager },
    pathPrepend: [KUBE_STAND_IN_DIR, PACKAGE_STAND_IN_DIR],
    env: {
      CARETAKER_NODE_ROOT: root,
      CARETAKER_BOOT_ID_FILE: join(root, 'proc', 'sys', 'kernel', 'random', 'boot_id'),
      CARETAKER_WORK_DIR: root,
      CARETAKER_SANDBOX_CONTROL: control,
      CARETAKER_NODE_NAME: 'worker-1',
      CARETAKER_KUBE_INSTALLED: '1.36.4',
      CARETAKER_KUBE_AVAILABLE: '1.36.4 1.37.2',
      CARETAKER_PKG_STAND_IN_DIR: PACKAGE_STAND_IN_DIR,
    },
  });
const standInLog = () =>
  readFileSync(join(root, 'var', 'log', 'kube-stand-in.log'), 'utf8')
    .trim()
    .split('\n');
const installed = (name: string) => readFileSync(join(root, 'var', 'lib', 'kube-stand-in', name), 'utf8');

describe('kubelet-upgrade', () => {
  it('apt: kubeadm pinned and held, kubeadm upgrade node, kubelet and kubectl pinned and held, kubelet restarted', async () => {
    const r = await upgrade('v1.37.2');

    expect(r.exitCode).toBe(0);
    expect(standInLog()).toEqual([
      'apt-mark\tunhold\tkubeadm',
      'apt-get\tinstall\t-y\t-q\tkubeadm=1.37.2-*',
      'apt-mark\thold\tkubeadm',
      'kubeadm\tupgrade\tnode',
      'apt-mark\tunhold\tkubelet\tkubectl',
      'apt-get\tinstall\t-y\t-q\tkubelet=1.37.2-*\tkubectl=1.37.2-*',
      'apt-mark\thold\tkubelet\tkubectl',
      'systemctl\tdaemon-reload',
      'systemctl\trestart\tkubelet',
    ]);
    expect(['kubeadm', 'kubelet', 'kubectl'].map(installed)).toEqual(['1.37.2', '1.37.2', '1.37.2']);
    // the node's side: kubeadm's worker step, then the restarted kubelet reporting the version
    expect(asked).toEqual([
      '/kubeadm?node=worker-1&phase=node&version=v1.37.2',
      '/kubelet?node=worker-1&version=v1.37.2',
    ]);
    expect(kubeletUpgradeResult.parse(parseCommandResult(r.stdout))).toEqual({
      manager: 'apt',
      packages: 3,
      changed: ['kubeadm=1.37.2-*', 'kubelet=1.37.2-*', 'kubectl=1.37.2-*'],
      rebootRequired: false,
      rebooted: false,
      bootIdBefore: 'boot-7',
      bootIdAfter: 'boot-7',
      version: 'v1.37.2',
      kubeadm: 'kubeadm upgrade node',
      kubeletRestarted: true,
    });
  });

  it('dnf: each package at the version past the kubernetes repo excludes, no hold', async () => {
    const r = await upgrade('v1.37.2', 'dnf');

    expect(r.exitCode).toBe(0);
    expect(standInLog()).toEqual([
      'dnf\tinstall\t-y\t-q\t--disableexcludes=kubernetes\tkubeadm-1.37.2',
      'kubeadm\tupgrade\tnode',
      'dnf\tinstall\t-y\t-q\t--disableexcludes=kubernetes\tkubelet-1.37.2\tkubectl-1.37.2',
      'systemctl\tdaemon-reload',
      'systemctl\trestart\tkubelet',
    ]);
    expect(parseCommandResult(r.stdout)).toMatchObject({
      manager: 'dnf',
      changed: ['kubeadm-1.37.2', 'kubelet-1.37.2', 'kubectl-1.37.2'],
    });
  });

  it('fails naming the install when the repository does not offer the version, before kubeadm touches the node', async () => {
    const r = await upgrade('v1.38.0');

    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('kubelet-upgrade: error: apt-get install kubeadm=1.38.0-* failed');
    expect(standInLog()).not.toContain('kubeadm\tupgrade\tnode');
    expect(asked).toEqual([]);
  });

  it('rejects a malformed version before running anything', async () => {
    const r = await upgrade('1.37');

    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('Version');
    expect(asked).toEqual([]);
  });
});
