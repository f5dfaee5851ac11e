import { missingTools, runSandbox } from '../../../sandbox/main';

describe('the sandbox preflight', () => {
  it('names the missing tools and the Debian packages that bring them', () => {
    expect(missingTools((p) => p === '/usr/bin/aws')).toEqual([
      { path: '/usr/bin/etcd', pkg: 'etcd-server' },
      { path: '/usr/bin/etcdctl', pkg: 'etcd-client' },
    ]);
    expect(missingTools(() => true)).toEqual([]);
  });

  it('rejects an unknown workflow or a bad size before starting anything', async () => {
    const err: string[] = [];
    const io = { out: () => undefined, err: (l: string) => err.push(l) };
    expect(await runSandbox(['patch'], io)).toBe(2);
    expect(await runSandbox(['backup', '--keys', '0'], io)).toBe(2);
    expect(err).toEqual([
      'sandbox: the patch workflow is not built yet; available: backup, restore-verify',
      'sandbox: --keys must be a whole number from 1 to 2000000, not "0"',
    ]);
  });
});
