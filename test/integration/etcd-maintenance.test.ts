import { mkdtemp, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { etcdMaintenance } from '../../functions/shared/domain/commands/etcd-maintenance';
import { startEtcdCluster, type EtcdCluster } from '../../sandbox/etcd-cluster';
import { etcdVersionsUnderTest } from '../../sandbox/etcd-versions';
import { runScript } from '../../sandbox/run-script';
import { etcdPkiFixture, explain, hostEtcdParams } from '../support/etcd-scripts';

jest.setTimeout(120_000);

// a small quota fills in about 16 puts of 1 MB; etcd raises NOSPACE and refuses writes
const QUOTA = 16 * 1024 * 1024;
const MB = 'x'.repeat(1_000_000);

const VERSIONS = etcdVersionsUnderTest();

const fx = etcdPkiFixture('maintenance-test');

describe.each(VERSIONS.map((b) => [b.version, b] as const))(
  'etcd-maintenance.sh on etcd %s',
  (version, binaries) => {
    let etcd: EtcdCluster;

    beforeAll(async () => {
      etcd = await startEtcdCluster({
        pki: fx.pki,
        binaries,
        quotaBackendBytes: QUOTA,
        dir: await mkdtemp(join(fx.root, `etcd-${version}-`)),
      });
    });

    afterAll(async () => {
      await etcd?.stop();
    });

    async function maintain(member: number, action: string, quota = QUOTA) {
      const workDir = await mkdtemp(join(fx.root, 'work-'));
      const run = await runScript('etcd-maintenance', {
        params: {
          ...hostEtcdParams(etcd, member, fx.pki),
          Action: action,
          QuotaBytes: String(quota),
          SpaceBackPercent: '80',
        },
        instanceId: `i-00000000000000${member}`,
        pathPrepend: [binaries.binDir],
        env: { CARETAKER_WORK_DIR: workDir },
      });
      expect(await readdir(workDir)).toEqual([]);
      return run;
    }

    async function alarms(): Promise<string> {
      return etcd.client().run(['alarm', 'list']);
    }

    async function fillPastQuota(): Promise<void> {
      // one key overwritten: the history, not the live data, fills the database
      for (let i = 0; i < 40; i++) {
        try {
          await etcd.client(0).run(['put', '/fill/key'], MB);
        } catch (err) {
          if (/database space exceeded/.test(String(err))) return;
          throw err;
        }
      }
      throw new Error('the quota never filled');
    }

    it('recovers a cluster past its quota: compact, defragment one member at a time, disarm NOSPACE', async () => {
      // Arrange
      await fillPastQuota();
      expect(await alarms()).toMatch(/alarm:NOSPACE/);
      const leaderId = (await etcd.client(0).status())[0]?.leader;
      const statuses = await Promise.all([0, 1, 2].map(async (i) => (await etcd.client(i).status())[0]!));
      const order = [0, 1, 2].sort(
        (a, b) => Number(statuses[a]!.memberId === leaderId) - Number(statuses[b]!.memberId === leaderId),
      );

      // Act + Assert: disarming while still full does nothing and says why
      const early = await maintain(0, 'disarm');
      if (early.exitCode !== 0) throw new Error(explain(early));
      expect(early.result).toMatchObject({ action: 'disarm', disarmed: false, alarmsAfter: ['NOSPACE'] });
      expect(String(early.result?.reason)).toMatch(/space is not back/);

      const compact = await maintain(0, 'compact');
      expect(compact.exitCode).toBe(0);
      expect(compact.result).toMatchObject({ action: 'compact', compacted: true });

      for (const i of order) {
        const run = await maintain(i, 'defrag');
        if (run.exitCode !== 0) throw new Error(explain(run));
        const r = etcdMaintenance.result.parse(run.result);
        expect(r).toMatchObject({ action: 'defrag', memberId: statuses[i]!.memberId, clusterHealthy: true });
        if (r.action === 'defrag') expect(r.dbSizeAfter).toBeLessThan(r.dbSizeBefore / 4);
      }

      const disarm = await maintain(order[0]!, 'disarm');
      expect(disarm.exitCode).toBe(0);
      expect(etcdMaintenance.result.parse(disarm.result)).toMatchObject({
        action: 'disarm',
        disarmed: true,
        alarmsBefore: ['NOSPACE'],
        alarmsAfter: [],
      });
      expect(await alarms()).not.toMatch(/NOSPACE/);
      await expect(etcd.client(0).run(['put', '/after/recovery', 'ok'])).resolves.toMatch(/OK/);
    });

    it('says a second compaction at the same revision compacted nothing, and succeeds', async () => {
      const first = await maintain(1, 'compact');
      const second = await maintain(1, 'compact');
      expect(first.exitCode).toBe(0);
      expect(second.exitCode).toBe(0);
      expect(second.result).toMatchObject({ action: 'compact', compacted: false });
    });

    it('rejects a bad action before touching etcd', async () => {
      const run = await maintain(0, 'delete-everything');
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/parameter Action is invalid/);
      expect(run.result).toBeUndefined();
    });

    it('refuses to defragment while another member is down (the gate before)', async () => {
      await etcd.stopMember(2);
      const run = await maintain(0, 'defrag');
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toMatch(/not every member is healthy before the defragmentation/);
      expect(run.result).toBeUndefined();
    });
  },
);
