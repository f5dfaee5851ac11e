import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { COMMANDS } from '../../../functions/shared/domain/commands';
import { parseCommandResult } from '../../../functions/shared/domain/command-result';
import { NodePackages, PACKAGE_STAND_IN_DIR } from '../../../sandbox/fleet/packages';
import { runScript } from '../../../sandbox/run-script';

/**
 * os-patch-baseline's own step, run alone: the first step (AWS-RunPatchBaseline) exists only in
 * AWS, so here the node is left as an install with RebootOption NoReboot leaves it (the
 * stand-in's reboot signal) and the check decides, exits 194 and reports after the "reboot".
 */
let root: string;
let bootFile: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'caretaker-baseline-'));
  bootFile = join(root, 'proc', 'sys', 'kernel', 'random', 'boot_id');
  mkdirSync(join(root, 'proc', 'sys', 'kernel', 'random'), { recursive: true });
  writeFileSync(bootFile, 'boot-1\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

const check = (reboot: string) =>
  runScript('os-patch-baseline', {
    params: { Reboot: reboot },
    pathPrepend: [PACKAGE_STAND_IN_DIR],
    env: { CARETAKER_NODE_ROOT: root, CARETAKER_BOOT_ID_FILE: bootFile },
  });

/** what AWS-RunPatchBaseline with NoReboot leaves on a RHEL-family node: needs-restarting -r says 1 */
function installedPendingReboot(): NodePackages {
  const packages = new NodePackages(root).setFlavor('rhel').offer([{ name: 'kernel' }]);
  packages.leaveRebootRequired();
  mkdirSync(join(root, 'var', 'lib', 'pkg-stand-in'), { recursive: true });
  writeFileSync(join(root, 'var', 'lib', 'pkg-stand-in', 'needs-reboot'), 'boot-1\n');
  return packages;
}

describe("os-patch-baseline's reboot check", () => {
  it('asks for a reboot when the node needs one, and reports after it with the new boot id', async () => {
    installedPendingReboot();

    const first = await check('if-required');
    writeFileSync(bootFile, 'boot-2\n');
    const second = await check('if-required');

    expect(first.exitCode).toBe(194);
    expect(second.exitCode).toBe(0);
    expect(COMMANDS['os-patch-baseline'].result.parse(parseCommandResult(second.stdout))).toEqual({
      manager: 'patch-baseline',
      packages: -1,
      changed: [],
      rebootRequired: true,
      rebooted: true,
      bootIdBefore: 'boot-1',
      bootIdAfter: 'boot-2',
    });
  });

  it('only reports a needed reboot when the policy is never, and reboots a node that needs none when it is always', async () => {
    const packages = installedPendingReboot();

    const never = await check('never');
    rmSync(join(root, 'var', 'lib', 'pkg-stand-in', 'needs-reboot'));
    const always = await check('always');

    expect(never.exitCode).toBe(0);
    expect(parseCommandResult(never.stdout)).toMatchObject({ rebootRequired: true, rebooted: false });
    expect(always.exitCode).toBe(194);
    expect(packages.invocations()).toEqual([
      { tool: 'needs-restarting', args: ['-r'] },
      { tool: 'needs-restarting', args: ['-r'] },
    ]);
  });

  it('runs afresh when an earlier run asked for a reboot that never happened (same boot id)', async () => {
    installedPendingReboot();
    expect((await check('if-required')).exitCode).toBe(194);
    rmSync(join(root, 'var', 'lib', 'pkg-stand-in', 'needs-reboot'));

    const again = await check('if-required');

    expect(again.exitCode).toBe(0);
    expect(parseCommandResult(again.stdout)).toMatchObject({ rebootRequired: false, rebooted: false });
    expect(again.stderr).toMatch(/removing the state of an earlier run that never came back from its reboot/);
  });
});
