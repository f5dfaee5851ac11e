import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { moveLeaderResult } from '../../functions/shared/domain/commands/control-plane-schemas';
import { startEtcdCluster, type EtcdCluster } from '../../sandbox/etcd-cluster';
import { etcdVersionsUnderTest } from '../../sandbox/etcd-versions';
import { generateEtcdPki, type EtcdPki } from '../../sandbox/pki';
import { runScript, type ScriptRun } from '../../sandbox/run-script';

jest.setTimeout(90_000);

// one version is enough here: move-leader and the fields it reads are the same on 3.4-3.6;
// the newest under test, which the sandbox runs by default
const binaries = etcdVersionsUnderTest().at(-1)!;

let root: string;
let pki: EtcdPki;
let etcd: EtcdCluster;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'caretaker-move-leader-test-'));
  pki = await generateEtcdPki(join(root, 'pki'));
  etcd = await startEtcdCluster({ pki, binaries, dir: join(root, 'etcd') });
});

afterAll(async () => {
  await etcd?.stop();
  if (root) await rm(root, { recursive: true, force: true });
});

function explain(run: ScriptRun): string {
  return `exit ${run.exitCode}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}

async function moveLeader(member: number): Promise<{ run: ScriptRun; workDir: string }> {
  const workDir = await mkdtemp(join(root, 'work-'));
  const run = await runScript('etcd-move-leader', {
    params: {
      EtcdPort: String(etcd.member(member).clientPort),
      CaFile: pki.ca.cert,
      CertFile: pki.healthcheckClient.cert,
      KeyFile: pki.healthcheckClient.key,
      EtcdctlMode: 'host',
    },
    instanceId: `i-00000000000000${member}`,
    pathPrepend: [binaries.binDir],
    env: { CARETAKER_WORK_DIR: workDir },
  });
  return { run, workDir };
}

/** index of the member that leads now, and the hex id of each member */
async function leadership(): Promise<{ leader: number; hex: string[] }> {
  const statuses = await Promise.all([0, 1, 2].map(async (i) => (await etcd.client(i).status())[0]!));
  const leader = statuses.findIndex((s) => s.leader === s.memberId);
  return { leader, hex: statuses.map((s) => BigInt(s.memberId).toString(16)) };
}

describe(`etcd-move-leader.sh on etcd ${binaries.version}`, () => {
  it('changes nothing on a follower and names the leader', async () => {
    const before = await leadership();
    const follower = [0, 1, 2].find((i) => i !== before.leader)!;

    const { run, workDir } = await moveLeader(follower);

    expect(run.exitCode).toBe(0);
    expect(moveLeaderResult.parse(run.result)).toEqual({
      instanceId: `i-00000000000000${follower}`,
      memberId: before.hex[follower],
      wasLeader: false,
      movedTo: '',
      leaderAfter: before.hex[before.leader],
    });
    expect((await leadership()).leader).toBe(before.leader);
    expect(await readdir(workDir)).toEqual([]);
  });

  it('moves leadership off the leader to a healthy follower, with exact uint64 ids in hex', async () => {
    const before = await leadership();

    const { run } = await moveLeader(before.leader);

    if (run.exitCode !== 0) throw new Error(explain(run));
    const after = await leadership();
    expect(after.leader).not.toBe(before.leader);
    expect(run.result).toEqual({
      instanceId: `i-00000000000000${before.leader}`,
      memberId: before.hex[before.leader],
      wasLeader: true,
      movedTo: after.hex[after.leader],
      leaderAfter: after.hex[after.leader],
    });
  });

  it('skips a follower that is down and moves leadership to the one that answers', async () => {
    const { leader } = await leadership();
    const [down, up] = [0, 1, 2].filter((i) => i !== leader) as [number, number];
    await etcd.stopMember(down);

    const { run } = await moveLeader(leader);

    if (run.exitCode !== 0) throw new Error(explain(run));
    // followers are tried in member-list order: the down one is either tried and found not
    // healthy, or never reached because the healthy one came first; it is never called healthy
    const downUrl = etcd.members[down]!.clientUrl;
    expect(run.stderr).not.toContain(`at ${downUrl} is healthy`);
    if (run.stderr.includes(downUrl)) expect(run.stderr).toContain(`at ${downUrl} is not healthy`);
    const statuses = await etcd.client(up).status();
    expect(statuses[0]!.leader).toBe(statuses[0]!.memberId);
    expect(run.result).toMatchObject({
      wasLeader: true,
      leaderAfter: BigInt(statuses[0]!.memberId).toString(16),
    });
  });

  it('fails, moving nothing, when it leads and no follower answers (quorum lost)', async () => {
    const alive = [0, 1, 2].filter((i) => etcd.isRunning(i));
    const statuses = await Promise.all(
      alive.map(async (i) => ({ i, s: (await etcd.client(i).status())[0]! })),
    );
    const leader = statuses.find((x) => x.s.leader === x.s.memberId)!.i;
    await etcd.stopMember(alive.find((i) => i !== leader)!);

    const { run } = await moveLeader(leader);

    expect(run.exitCode).toBe(1);
    expect(run.result).toBeUndefined();
    // without quorum: no healthy follower, no leader any more, or no linearizable member list
    expect(run.stderr).toMatch(/no follower is healthy|sees no leader|member list failed/);
  });
});
