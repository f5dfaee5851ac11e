import { mkdtemp, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { memberStatus } from '../../functions/shared/domain/schemas';
import { startEtcdCluster, type EtcdCluster } from '../../sandbox/etcd-cluster';
import { etcdVersionsUnderTest } from '../../sandbox/etcd-versions';
import { runScript } from '../../sandbox/run-script';
import { etcdPkiFixture, explain, hostEtcdParams } from '../support/etcd-scripts';
import { crictlImageEnv, STAND_IN_BIN_DIR } from '../support/stand-ins';

jest.setTimeout(60_000);

const RESULT_FIELDS = [
  'instanceId',
  'healthy',
  'reason',
  'memberId',
  'memberName',
  'isLeader',
  'revision',
  'dbSize',
  'version',
  'alarms',
].sort();

const VERSIONS = etcdVersionsUnderTest();

const fx = etcdPkiFixture('status-test');

describe.each(VERSIONS.map((b) => [b.version, b] as const))(
  'etcd-status.sh on etcd %s',
  (version, binaries) => {
    let etcd: EtcdCluster;

    beforeAll(async () => {
      etcd = await startEtcdCluster({
        pki: fx.pki,
        binaries,
        dir: await mkdtemp(join(fx.root, `etcd-${version}-`)),
      });
      await etcd.seed(['/registry/namespaces/default', '/registry/namespaces/kube-system']);
    });

    afterAll(async () => {
      await etcd?.stop();
    });

    function status(
      member: number,
      overrides: Record<string, string> = {},
      env: Record<string, string> = {},
    ) {
      return mkdtemp(join(fx.root, 'work-')).then(async (workDir) => {
        const run = await runScript('etcd-status', {
          params: {
            ...hostEtcdParams(etcd, member, fx.pki),
            ...overrides,
          },
          instanceId: `i-00000000000000${member}`,
          pathPrepend: [binaries.binDir],
          env: { CARETAKER_WORK_DIR: workDir, ...env },
        });
        return { run, workDir };
      });
    }

    describe('against a healthy 3-member TLS cluster', () => {
      let results: Record<string, unknown>[];

      beforeAll(async () => {
        const runs = await Promise.all([0, 1, 2].map((i) => status(i)));
        results = runs.map(({ run }) => {
          if (run.exitCode !== 0 || !run.result) throw new Error(explain(run));
          return run.result;
        });
        for (const { workDir } of runs) expect(await readdir(workDir)).toEqual([]);
      });

      it('reports every member healthy with the contract fields', () => {
        for (const [i, result] of results.entries()) {
          expect(Object.keys(result).sort()).toEqual(RESULT_FIELDS);
          expect(result).toMatchObject({
            instanceId: `i-00000000000000${i}`,
            healthy: true,
            memberName: `member-${i}`,
            version: expect.stringMatching(new RegExp(`^${version.replace('.', '\\.')}\\.\\d+$`)),
            alarms: [],
            reason: expect.stringMatching(/^healthy \((leader|follower), revision \d+\)$/),
          });
          expect(result.revision).toBeGreaterThan(1);
          expect(result.dbSize).toBeGreaterThan(0);
        }
      });

      it("satisfies the Lambda side's schema", () => {
        for (const result of results) expect(() => memberStatus.parse(result)).not.toThrow();
      });

      it('gives member ids as exact decimal strings (uint64 does not fit a JS number)', async () => {
        const expected = await Promise.all(
          [0, 1, 2].map(async (i) => (await etcd.client(i).status())[0]?.memberId),
        );
        expect(results.map((r) => r.memberId)).toEqual(expected);
        for (const r of results) expect(r.memberId).toMatch(/^[1-9][0-9]*$/);
      });

      it('finds exactly one leader, the member etcd itself names as leader', async () => {
        const leaders = results.filter((r) => r.isLeader === true);
        expect(leaders).toHaveLength(1);
        const [own] = await etcd.client(0).status();
        expect(leaders[0]?.memberId).toBe(own?.leader);
        for (const follower of results.filter((r) => r.isLeader === false)) {
          expect(follower.reason).toMatch(/^healthy \(follower/);
        }
      });

      it('gives the same answer in crictl mode, running etcdctl inside the container', async () => {
        const log = join(fx.root, `crictl-status-${version}.log`);
        const workDir = await mkdtemp(join(fx.root, 'work-'));
        const run = await runScript('etcd-status', {
          params: {
            EtcdPort: String(etcd.member(1).clientPort),
            CaFile: fx.pki.ca.cert,
            CertFile: fx.pki.healthcheckClient.cert,
            KeyFile: fx.pki.healthcheckClient.key,
            EtcdctlMode: 'crictl',
          },
          pathPrepend: [STAND_IN_BIN_DIR],
          env: {
            ...crictlImageEnv(binaries),
            CARETAKER_WORK_DIR: workDir,
            CRICTL_LOG: log,
            CRICTL_CONTAINER_ID: 'etcd-1',
          },
        });
        expect(run.exitCode).toBe(0);
        expect(run.result).toMatchObject({
          healthy: true,
          memberId: results[1]?.memberId,
          isLeader: results[1]?.isLeader,
        });
        const calls = (await readFile(log, 'utf8'))
          .trim()
          .split('\n')
          .map((line) => line.split('\t'));
        const etcdctl = [
          'exec',
          'etcd-1',
          'etcdctl',
          `--endpoints=https://127.0.0.1:${etcd.member(1).clientPort}`,
          `--cacert=${fx.pki.ca.cert}`,
          `--cert=${fx.pki.healthcheckClient.cert}`,
          `--key=${fx.pki.healthcheckClient.key}`,
          '--dial-timeout=5s',
          '--command-timeout=5s',
        ];
        expect(calls).toEqual([
          ['ps', '--name', 'etcd', '-q', '--state', 'running'],
          [...etcdctl, 'endpoint', 'status', '-w', 'fields'],
          [...etcdctl, 'member', 'list', '-w', 'fields'],
          [...etcdctl, 'endpoint', 'health'],
          [...etcdctl, 'alarm', 'list'],
        ]);
      });
    });

    describe('when something is wrong', () => {
      it('reports healthy:false with a reason, exit 0, when no etcd container runs', async () => {
        const { run } = await status(
          0,
          { EtcdctlMode: 'crictl' },
          {
            PATH: `${STAND_IN_BIN_DIR}:${process.env.PATH}`,
            CRICTL_NO_CONTAINER: '1',
          },
        );
        expect(run.exitCode).toBe(0);
        expect(run.result).toMatchObject({
          healthy: false,
          reason: expect.stringContaining('no running etcd container'),
        });
      });

      it('rejects an invalid parameter with exit 1, naming it', async () => {
        const { run, workDir } = await status(0, { KeyFile: '/etc/kubernetes/pki/etcd/x.key;reboot' });
        expect(run.exitCode).toBe(1);
        expect(run.stderr).toContain('parameter KeyFile is invalid');
        expect(run.stdout).toBe('');
        expect(await readdir(workDir)).toEqual([]);
      });

      it('reports a stopped member as healthy:false with a reason, exit 0, while the others stay healthy', async () => {
        // stop a follower: stopping the leader would start an election the healthy check could catch
        const follower = (await etcd.client().status()).find((s) => s.memberId !== s.leader);
        const victim = etcd.members.findIndex((m) => m.clientUrl === follower?.endpoint);
        const survivor = victim === 0 ? 1 : 0;
        await etcd.stopMember(victim);

        const [stopped, alive] = await Promise.all([status(victim), status(survivor)]);

        expect(stopped.run.exitCode).toBe(0);
        expect(stopped.run.result).toMatchObject({
          healthy: false,
          isLeader: false,
          memberId: '',
          alarms: [],
          reason: expect.stringContaining(
            `etcd at https://127.0.0.1:${etcd.member(victim).clientPort} is unreachable`,
          ),
        });
        expect(Object.keys(stopped.run.result ?? {}).sort()).toEqual(RESULT_FIELDS);
        expect(() => memberStatus.parse(stopped.run.result)).not.toThrow();
        expect(alive.run.result).toMatchObject({ healthy: true });
        expect(await readdir(stopped.workDir)).toEqual([]);
      });
    });
  },
);
