import { executionName } from '../../../functions/shared/domain/execution-name';
import { manifestKeyFor, parseSnapshotKey } from '../../../functions/shared/domain/snapshot-key';
import { planCommand } from '../../../functions/shared/domain/commands';
import { parseConfig } from '../../../functions/shared/domain/config';
import { NotForThisKindError } from '../../../functions/shared/errors';

describe('executionName', () => {
  it('is the same for the same trigger time, and valid for Step Functions', () => {
    const at = new Date('2026-11-25T06:00:00.000Z');
    const name = executionName('etcd-backup', 'prod-eu', at);
    expect(name).toBe('etcd-backup-prod-eu-20261125T060000Z');
    expect(executionName('etcd-backup', 'prod-eu', new Date(at))).toBe(name);
    expect(name).toMatch(/^[A-Za-z0-9_-]{1,80}$/);
  });
});

describe('snapshot keys', () => {
  it('parses the storage layout and finds the manifest beside it', () => {
    const key = 'prod/etcd/2026/11/25/20261125T060012Z-r4711.db';
    expect(parseSnapshotKey(key)).toEqual({
      key,
      cluster: 'prod',
      series: 'main',
      takenAt: new Date('2026-11-25T06:00:12Z'),
      revision: 4711,
    });
    expect(manifestKeyFor(key)).toBe('prod/etcd/2026/11/25/20261125T060012Z-r4711.json');
  });

  it.each([
    'prod/etcd/2026/11/25/20261125T060012Z-r4711.json',
    'prod/etcd/2026/11/24/20261125T060012Z-r4711.db',
    'prod/other/2026/11/25/20261125T060012Z-r4711.db',
    'prod/etcd/2026/13/45/20261345T060012Z-r1.db',
  ])('ignores %s, which is not a snapshot', (key) => {
    expect(parseSnapshotKey(key)).toBeUndefined();
  });
});

describe('planCommand', () => {
  const config = parseConfig({
    clusters: [
      { name: 'prod', kind: 'kubeadm', region: 'eu-west-1' },
      { name: 'managed', kind: 'eks', region: 'eu-west-1' },
    ],
  });

  it('builds the snapshot parameters from the cluster configuration', () => {
    const plan = planCommand('etcd-snapshot', config.clusters[0]!, { executionId: 'arn:x', bucket: 'snaps' });
    expect(plan.parameters).toEqual({
      EtcdPort: '2379',
      CaFile: '/etc/kubernetes/pki/etcd/ca.crt',
      CertFile: '/etc/kubernetes/pki/etcd/healthcheck-client.crt',
      KeyFile: '/etc/kubernetes/pki/etcd/healthcheck-client.key',
      EtcdctlMode: 'crictl',
      Cluster: 'prod',
      Bucket: 'snaps',
      DataDir: '/var/lib/etcd',
      ExecutionId: 'arn:x',
    });
  });

  it("passes the API server's etcd prefix to the snapshot when the cluster sets one", () => {
    const [custom] = parseConfig({
      clusters: [{ name: 'prod', kind: 'kubeadm', region: 'eu-west-1', etcd: { prefix: '/kubernetes.io' } }],
    }).clusters;
    const plan = planCommand('etcd-snapshot', custom!, { executionId: 'arn:x', bucket: 'snaps' });
    expect(plan.parameters.EtcdPrefix).toBe('/kubernetes.io');
  });

  it('rejects an etcd command for an EKS cluster as not for this kind', () => {
    expect(() => planCommand('etcd-status', config.clusters[1]!, { executionId: 'x', bucket: 'b' })).toThrow(
      NotForThisKindError,
    );
  });
});
