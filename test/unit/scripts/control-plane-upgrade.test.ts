import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KUBE_STAND_IN_DIR } from '../../../sandbox/control-plane-upgrades';
import { runScript } from '../../../sandbox/run-script';

/**
 * ssm-documents/control-plane-upgrade.sh's parameter checks: the document lets Version be empty
 * for the read-only inventory phase (the OS patch and kops preflights have no version), and the
 * script refuses an empty one for every phase that changes the node, before anything runs.
 * The phases themselves run in test/integration/sandbox-upgrade.test.ts.
 */
let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'caretaker-cp-upgrade-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const run = (phase: string, version: string) =>
  runScript('control-plane-upgrade', {
    params: {
      Version: version,
      Phase: phase,
      PackageManager: 'auto',
      Kubeconfig: '/etc/kubernetes/admin.conf',
    },
    pathPrepend: [KUBE_STAND_IN_DIR],
    env: { CARETAKER_NODE_ROOT: root, CARETAKER_WORK_DIR: root },
  });

describe('control-plane-upgrade parameters', () => {
  it.each(['plan', 'apply', 'node'])(
    'refuses phase %s without a version, before touching the node',
    async (phase) => {
      const r = await run(phase, '');

      expect(r.exitCode).not.toBe(0);
      expect(r.stderr).toContain(`Version is required for phase ${phase}`);
      // the recording kubeadm/apt stand-in was never called
      expect(existsSync(join(root, 'var', 'log', 'kube-stand-in.log'))).toBe(false);
    },
  );

  it('refuses a malformed version for any phase', async () => {
    const r = await run('inventory', '1.37');

    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toContain('Version');
    expect(existsSync(join(root, 'var', 'log', 'kube-stand-in.log'))).toBe(false);
  });
});
