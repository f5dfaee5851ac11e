import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { probeResult } from '../../functions/shared/domain/commands/health-probe';
import { startEtcdCluster, type EtcdCluster } from '../../sandbox/etcd-cluster';
import { etcdVersionsUnderTest } from '../../sandbox/etcd-versions';
import { generateEtcdPki, type EtcdPki } from '../../sandbox/pki';
import { runScript } from '../../sandbox/run-script';

jest.setTimeout(120_000);

const VERSIONS = etcdVersionsUnderTest();
let root: string;
let pki: EtcdPki;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'caretaker-probe-test-'));
  pki = await generateEtcdPki(join(root, 'pki'));
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

describe.each(VERSIONS.map((b) => [b.version, b] as const))(
  'health-probe.sh on etcd %s',
  (version, binaries) => {
    let etcd: EtcdCluster;

    beforeAll(async () => {
      etcd = await startEtcdCluster({
        pki,
        binaries,
        quotaBackendBytes: 16 * 1024 * 1024,
        dir: await mkdtemp(join(root, `etcd-${version}-`)),
      });
    });

    afterAll(async () => {
      await etcd?.stop();
    });

    async function probe(member = 0) {
      const workDir = await mkdtemp(join(root, 'work-'));
      const run = await runScript('health-probe', {
        params: {
          EtcdPort: String(etcd.member(member).clientPort),
          CaFile: pki.ca.cert,
          CertFile: pki.healthcheckClient.cert,
          KeyFile: pki.healthcheckClient.key,
          EtcdctlMode: 'host',
          Kubeconfig: 'none',
          ApiServerPort: '6443',
        },
        instanceId: 'i-0000000000000000',
        pathPrepend: [binaries.binDir],
        env: { CARETAKER_WORK_DIR: workDir },
      });
      expect(await readdir(workDir)).toEqual([]);
      if (run.exitCode !== 0 || process.env.DEBUG_PROBE)
        throw new Error(`exit ${run.exitCode}\n${run.stderr}\n${run.stdout}`);
      return probeResult.parse(run.result);
    }

    it('reports every member from one node: one leader, sizes, raft term, no alarm', async () => {
      const r = await probe();
      const own = await Promise.all([0, 1, 2].map(async (i) => (await etcd.client(i).status())[0]!));

      expect(r.etcd.membersTotal).toBe(3);
      expect(r.etcd.members.map((m) => m.memberId).sort()).toEqual(own.map((s) => s.memberId).sort());
      expect(r.etcd.members.filter((m) => m.isLeader)).toHaveLength(1);
      for (const m of r.etcd.members) {
        expect(m).toMatchObject({ healthy: true, errors: '[]' });
        expect(m.dbSize).toBeGreaterThan(0);
        // `endpoint status -w fields` prints DBSizeInUse from etcd 3.6 on (0 before)
        if (version === '3.6') expect(m.dbSizeInUse).toBeGreaterThan(0);
        expect(m.raftTerm).toBeGreaterThan(0);
      }
      expect(r.etcd.alarms).toEqual([]);
      expect(r.kubernetes).toBeNull();
    });

    it('reports NOSPACE once the database is past its quota', async () => {
      const mb = 'x'.repeat(1_000_000);
      for (let i = 0; i < 40; i++) {
        try {
          await etcd.client(0).run(['put', '/fill/key'], mb);
        } catch (err) {
          if (/database space exceeded/.test(String(err))) break;
          throw err;
        }
      }
      const r = await probe();
      expect(r.etcd.alarms).toEqual(['NOSPACE']);
      // a raised alarm is the cluster's problem: it does not make the members unhealthy
      expect(r.etcd.members.every((m) => m.healthy)).toBe(true);
      // etcd raises NOSPACE on the put that would cross the quota, so the file itself may stay
      // up to one value below it
      expect(Math.max(...r.etcd.members.map((m) => m.dbSize)) + mb.length).toBeGreaterThan(16 * 1024 * 1024);
      await etcd.client(0).run(['alarm', 'disarm']);
    });

    it('counts a stopped member as missing', async () => {
      await etcd.stopMember(2);
      const r = await probe(0);
      expect(r.etcd.membersTotal).toBe(3);
      expect(r.etcd.members).toHaveLength(2);
    });
  },
);
