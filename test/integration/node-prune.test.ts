import { mkdir, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nodePrune } from '../../functions/shared/domain/commands/node-prune';
import { runScript } from '../../sandbox/run-script';
import { STAND_IN_BIN_DIR } from '../support/stand-ins';

jest.setTimeout(60_000);

let root: string;

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'caretaker-node-prune-test-'));
});

afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

/** node-prune.sh with the crictl and journalctl stand-ins first on PATH, each recording its argv */
async function prune(params: Record<string, string>, env: Record<string, string> = {}) {
  const dir = await mkdtemp(join(root, 'run-'));
  const logs = { crictl: join(dir, 'crictl.log'), journalctl: join(dir, 'journalctl.log') };
  const work = join(dir, 'work');
  await mkdir(work);
  const run = await runScript('node-prune', {
    params,
    instanceId: 'i-0beef00000000001',
    pathPrepend: [STAND_IN_BIN_DIR],
    env: { CARETAKER_WORK_DIR: work, CRICTL_LOG: logs.crictl, JOURNALCTL_LOG: logs.journalctl, ...env },
  });
  const read = async (f: string) => (existsSync(f) ? readFile(f, 'utf8') : '');
  return {
    run,
    crictl: await read(logs.crictl),
    journalctl: await read(logs.journalctl),
    left: await readdir(work),
  };
}

describe('node-prune.sh (crictl and journalctl stand-ins record the exact invocations)', () => {
  it('prunes unused images, vacuums the journal to the given size and reports the free bytes of /var', async () => {
    const { run, crictl, journalctl, left } = await prune(
      { JournalVacuumSize: '500M' },
      { CRICTL_PRUNED_IMAGES: 'sha256:aaa sha256:bbb' },
    );

    expect(run.exitCode).toBe(0);
    expect(crictl).toBe('rmi\t--prune\n');
    expect(journalctl).toBe('--vacuum-size=500M\n');
    const result = nodePrune.result.parse(run.result);
    expect(result).toMatchObject({
      instanceId: 'i-0beef00000000001',
      imagesPruned: true,
      journalVacuumed: true,
    });
    // df really measured this machine's /var: numbers, and the difference never below 0
    expect(result.freeBytesBefore).toBeGreaterThan(0);
    expect(result.freeBytesAfter).toBeGreaterThan(0);
    expect(result.bytesFreed).toBe(Math.max(0, result.freeBytesAfter! - result.freeBytesBefore!));
    expect(left).toEqual([]);
  });

  it('fails naming the step when journalctl fails (images already pruned)', async () => {
    const { run, crictl } = await prune({ JournalVacuumSize: '1G' }, { JOURNALCTL_FAIL: '1' });

    expect(run.exitCode).not.toBe(0);
    expect(crictl).toBe('rmi\t--prune\n');
    expect(run.stderr).toMatch(/journalctl --vacuum-size=1G failed: .*Permission denied/);
  });

  it('rejects a malformed size naming the parameter, running nothing', async () => {
    const { run, crictl, journalctl } = await prune({ JournalVacuumSize: '500M; rm -rf /' });

    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toMatch(/JournalVacuumSize/);
    expect(crictl).toBe('');
    expect(journalctl).toBe('');
  });

  it('the catalog sends the documented default size', () => {
    expect(nodePrune.parameters({} as never, {}, { executionId: 'x', bucket: 'b' })).toEqual({
      JournalVacuumSize: '500M',
    });
  });
});
