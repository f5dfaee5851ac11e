import { etcdBinaries, etcdVersionsUnderTest, missingEtcdBinaries } from '../../../sandbox/etcd-versions';

describe('etcd versions under test', () => {
  it('runs every supported version when CARETAKER_ETCD_VERSIONS is unset (setup builds 3.5 and 3.6)', () => {
    expect(etcdVersionsUnderTest({}).map((b) => b.version)).toEqual(['3.4', '3.5', '3.6']);
  });

  it('runs only the versions CARETAKER_ETCD_VERSIONS names, in its order', () => {
    expect(etcdVersionsUnderTest({ CARETAKER_ETCD_VERSIONS: '3.6, 3.4' }).map((b) => b.version)).toEqual([
      '3.6',
      '3.4',
    ]);
  });

  it('rejects an unknown version by name', () => {
    expect(() => etcdVersionsUnderTest({ CARETAKER_ETCD_VERSIONS: '3.6,3.7' })).toThrow(
      "CARETAKER_ETCD_VERSIONS: unknown etcd version '3.7' (supported: 3.4, 3.5, 3.6)",
    );
  });

  it('gives 3.4 no etcdutl and 3.5/3.6 a cache directory keyed by the pinned release', () => {
    expect(etcdBinaries('3.4').etcdutl).toBeUndefined();
    expect(etcdBinaries('3.6').binDir).toMatch(/etcd-3\.6-v3\.6\.\d+\/bin$/);
    expect(etcdBinaries('3.5').etcdutl).toMatch(/etcd-3\.5-v3\.5\.\d+\/bin\/etcdutl$/);
  });

  it('names each missing binary with the command that provides it', () => {
    const missing = missingEtcdBinaries({
      version: '3.6',
      binDir: '/nonexistent',
      etcd: '/nonexistent/etcd',
      etcdctl: '/nonexistent/etcdctl',
      etcdutl: '/nonexistent/etcdutl',
    });
    expect(missing).toEqual(
      ['etcd', 'etcdctl', 'etcdutl'].map((b) => ({
        path: `/nonexistent/${b}`,
        remedy: 'bash tools/build.sh etcd-3.6 (needs Go, once per version)',
      })),
    );
  });
});
