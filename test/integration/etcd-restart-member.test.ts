import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { etcdRestartMember } from '../../functions/shared/domain/commands/etcd-restart-member';
import { startEtcdCluster, type EtcdCluster } from '../../sandbox/etcd-cluster';
import { etcdVersionsUnderTest } from '../../sandbox/etcd-versions';
import { generateEtcdPki, type EtcdPki } from '../../sandbox/pki';
import { runScript } from '../../sandbox/run-script';
import { STAND_IN_BIN_DIR } from '../support/stand-ins';

jest.setTimeout(120_000);

// one version is enough here: the script only calls systemctl and `endpoint health`
const [binaries] = etcdVersionsUnderTest();
let root: string;
let pki: EtcdPki;
let etcd: EtcdCluster;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'caretaker-restart-test-'));
  pki = await generateEtcdPki(join(root, 'pki'));
  etcd = await startEtcdCluster({ pki, binaries: binaries!, dir: join(root, 'etcd') });
});

afterAll(async () => {
  await etcd?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

/** runs etcd-restart-member on member `i`, playing systemd: the stand-in asks, the test restarts */
async function restart(i: number, restartMember: (i: number) => Promise<void>) {
  const dir = await mkdtemp(join(root, 'run-'));
  const request = join(dir, 'request');
  const done = join(dir, 'done');
  const log = join(dir, 'systemctl.log');
  const running = runScript('etcd-restart-member', {
    params: {
      EtcdPort: String(etcd.member(i).clientPort),
      CaFile: pki.ca.cert,
      CertFile: pki.healthcheckClient.cert,
      KeyFile: pki.healthcheckClient.key,
      EtcdctlMode: 'host',
      EtcdUnit: 'etcd',
    },
    instanceId: `i-00000000000000${i}`,
    pathPrepend: [STAND_IN_BIN_DIR, binaries!.binDir],
    env: {
      CARETAKER_WORK_DIR: dir,
      SYSTEMCTL_LOG: log,
      SYSTEMCTL_RESTART_REQUEST: request,
      SYSTEMCTL_RESTART_DONE: done,
    },
  });
  // systemd's part: when systemctl asks, restart the member for real
  const served = (async () => {
    for (let t = 0; t < 600 && !existsSync(request); t++) await new Promise((r) => setTimeout(r, 100));
    if (!existsSync(request)) return;
    await restartMember(i);
    await writeFile(done, '');
  })();
  const [run] = await Promise.all([running, served]);
  return { run, log: existsSync(log) ? await readFile(log, 'utf8') : '' };
}

describe('etcd-restart-member.sh on a real etcd member (host mode, systemctl played by the test)', () => {
  it('restarts the member through systemctl restart etcd and reports it healthy again', async () => {
    const pidsBefore = etcd.pids;
    const { run, log } = await restart(1, (i) => etcd.restartMember(i));

    expect(run.exitCode).toBe(0);
    expect(log).toBe('restart\tetcd\n');
    expect(etcdRestartMember.result.parse(run.result)).toMatchObject({
      restarted: true,
      healthy: true,
      method: 'systemctl restart etcd',
    });
    // a new process: the old member really stopped
    expect(etcd.pids).not.toEqual(pidsBefore);
    expect(await etcd.client().isHealthy()).toBe(true);
  });

  it('reports healthy:false (exit 0) when the member does not come back, so the workflow escalates', async () => {
    const { run } = await restart(2, (i) => etcd.stopMember(i));

    expect(run.exitCode).toBe(0);
    expect(run.result).toMatchObject({ restarted: true, healthy: false });
    expect(String(run.result?.reason)).toMatch(/does not answer endpoint health 60 s after/);
  });
});
