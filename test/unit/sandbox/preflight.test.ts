import { WORKFLOWS } from '../../../functions/shared/workflows';
import { missingTools, runSandbox } from '../../../sandbox/main';

describe('the sandbox preflight', () => {
  it('names the missing tools of etcd 3.4 and the Debian packages that bring them', () => {
    expect(missingTools('3.4', (p) => p === '/usr/bin/aws')).toEqual([
      { path: '/usr/bin/etcd', remedy: 'apt-get install -y etcd-server etcd-client' },
      { path: '/usr/bin/etcdctl', remedy: 'apt-get install -y etcd-server etcd-client' },
    ]);
    expect(missingTools('3.4', () => true)).toEqual([]);
  });

  it('names the build command for a missing etcd 3.6 (the default), etcdutl included', () => {
    const missing = missingTools(undefined, (p) => p === '/usr/bin/aws');
    expect(missing.map((m) => m.path.split('/').pop())).toEqual(['etcd', 'etcdctl', 'etcdutl']);
    expect(new Set(missing.map((m) => m.remedy))).toEqual(
      new Set(['bash tools/build.sh etcd-3.6 (needs Go, once per version)']),
    );
  });

  it('rejects an unknown workflow or a bad size before starting anything', async () => {
    const err: string[] = [];
    const io = { out: () => undefined, err: (l: string) => err.push(l) };
    expect(await runSandbox(['defrag'], io)).toBe(2);
    expect(await runSandbox(['backup', '--keys', '0'], io)).toBe(2);
    expect(await runSandbox(['backup', '--etcd', '3.3'], io)).toBe(2);
    expect(err).toEqual([
      `sandbox: unknown workflow "defrag"; available: ${WORKFLOWS.map((w) => w.cli?.verb ?? w.name).join(', ')}`,
      'sandbox: --keys must be a whole number from 1 to 2000000, not "0"',
      'sandbox: --etcd must be one of 3.4, 3.5, 3.6, not "3.3"',
    ]);
  });

  it.each([
    [['remediate'], 'sandbox: remediate needs a scenario: db-size, member-down, stale-backup, disk-pressure'],
    [
      ['remediate', 'flood'],
      'sandbox: remediate needs a scenario: db-size, member-down, stale-backup, disk-pressure (not "flood")',
    ],
  ])('remediate %j: names the scenarios there are and starts nothing', async (argv, message) => {
    const err: string[] = [];
    expect(await runSandbox(argv, { out: () => undefined, err: (l) => err.push(l) })).toBe(2);
    expect(err).toEqual([message]);
  });

  it('lists every workflow of the registry by its CLI verb in --help', async () => {
    const out: string[] = [];
    expect(await runSandbox(['--help'], { out: (l) => out.push(l), err: () => undefined })).toBe(0);
    const listed = out
      .join('\n')
      .split('\n')
      .filter((l) => /^ {2}\S/.test(l) && !l.trimStart().startsWith('-'))
      .map((l) => l.trim().split(/\s+/)[0]);
    // every registry workflow, then the ChatOps walk-through (sandbox/slack.ts)
    expect(listed).toEqual([...WORKFLOWS.map((w) => w.cli?.verb ?? w.name), 'slack']);
    expect(out.join('\n')).toContain('etcd-backup first, then ');
  });
});
