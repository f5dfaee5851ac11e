import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig, scheduleIntervalSeconds } from '../../../functions/shared/domain/config';
import { InvalidInputError } from '../../../functions/shared/errors';

const example = JSON.parse(readFileSync(join(__dirname, '../../../caretaker.config.example.json'), 'utf8'));

describe('parseConfig', () => {
  it('fills kubeadm defaults from three lines of config', () => {
    const config = parseConfig({ clusters: [{ name: 'prod', kind: 'kubeadm', region: 'eu-west-1' }] });
    const c = config.clusters[0]!;
    expect(c.etcd).toEqual({
      clientPort: 2379,
      caFile: '/etc/kubernetes/pki/etcd/ca.crt',
      certFile: '/etc/kubernetes/pki/etcd/healthcheck-client.crt',
      keyFile: '/etc/kubernetes/pki/etcd/healthcheck-client.key',
      etcdctl: 'crictl',
      dataDir: '/var/lib/etcd',
    });
    expect(c.controlPlaneTags).toEqual({ 'caretaker:role': 'control-plane', 'caretaker:cluster': 'prod' });
    expect(c.backup).toMatchObject({ enabled: true, schedule: 'rate(1 hour)', timeZone: 'UTC' });
    expect(c.backup.retention).toEqual({ keepLast: 6, hourly: 24, daily: 7, weekly: 4, monthly: 6 });
  });

  it('uses the kops and kubespray layouts for those kinds', () => {
    const config = parseConfig({
      clusters: [
        { name: 'a', kind: 'kops', region: 'eu-west-1' },
        { name: 'b', kind: 'kubespray', region: 'eu-west-1', etcd: { clientPort: 2381 } },
      ],
    });
    expect(config.clusters[0]!.etcd).toMatchObject({ clientPort: 4001, etcdctl: 'crictl' });
    expect(config.clusters[1]!.etcd).toMatchObject({
      clientPort: 2381,
      etcdctl: 'host',
      caFile: '/etc/ssl/etcd/ssl/ca.pem',
    });
  });

  it('accepts the example configuration in the repository', () => {
    expect(parseConfig(example).clusters.map((c) => c.name)).toEqual(['prod-eu', 'edge', 'kops-eu']);
  });

  it('disables backups for EKS, which has no etcd to reach', () => {
    const c = parseConfig({ clusters: [{ name: 'managed', kind: 'eks', region: 'us-east-1' }] }).clusters[0]!;
    expect(c.etcd).toBeUndefined();
    expect(c.backup.enabled).toBe(false);
  });

  it.each([
    [
      { name: 'Prod', kind: 'kubeadm', region: 'eu-west-1' },
      /clusters\[0\] \(Prod\)\.name: must be a DNS label/,
    ],
    [{ name: 'prod', kind: 'rancher', region: 'eu-west-1' }, /clusters\[0\] \(prod\)\.kind/],
    [
      { name: 'prod', kind: 'kubeadm', region: 'europe' },
      /clusters\[0\] \(prod\)\.region: must be an AWS region/,
    ],
    [
      { name: 'prod', kind: 'kubeadm', region: 'eu-west-1', etcd: { caFile: 'relative/ca.crt' } },
      /clusters\[0\] \(prod\)\.etcd\.caFile: must be an absolute path/,
    ],
    [
      { name: 'prod', kind: 'kubeadm', region: 'eu-west-1', etcd: { certFile: '/etc/{user}/client.crt' } },
      /clusters\[0\] \(prod\)\.etcd\.certFile: must be an absolute path/,
    ],
    [
      { name: 'prod', kind: 'kubeadm', region: 'eu-west-1', backup: { schedule: 'every hour' } },
      /clusters\[0\] \(prod\)\.backup\.schedule: must be rate/,
    ],
    [
      { name: 'prod', kind: 'kubeadm', region: 'eu-west-1', backup: { timeZone: 'Mars/Olympus' } },
      /clusters\[0\] \(prod\)\.backup\.timeZone: must be an IANA time zone/,
    ],
    [{ name: 'prod', kind: 'kubeadm', region: 'eu-west-1', extra: 1 }, /clusters\[0\] \(prod\)/],
    [
      { name: 'prod', kind: 'eks', region: 'eu-west-1', backup: { enabled: true } },
      /backup\.enabled: etcd backups are not possible on EKS/,
    ],
    [
      {
        name: 'prod',
        kind: 'kubeadm',
        region: 'eu-west-1',
        controlPlane: { tags: { 'caretaker:cluster': 'other' } },
      },
      /controlPlane\.tags: "caretaker:cluster" must equal the cluster name/,
    ],
  ])('rejects a bad cluster entry, naming the cluster and the field (%#)', (cluster, message) => {
    expect(() => parseConfig({ clusters: [cluster] })).toThrow(InvalidInputError);
    expect(() => parseConfig({ clusters: [cluster] })).toThrow(message);
  });

  it('rejects a cluster listed twice', () => {
    const c = { name: 'prod', kind: 'kubeadm', region: 'eu-west-1' };
    expect(() => parseConfig({ clusters: [c, c] })).toThrow(
      /clusters\[1\] \(prod\)\.name: "prod" is listed twice/,
    );
  });

  it('rejects an empty cluster list', () => {
    expect(() => parseConfig({ clusters: [] })).toThrow(/clusters: list at least one cluster/);
  });
});

describe('the snapshot bucket settings', () => {
  const clusters = [{ name: 'prod', kind: 'kubeadm', region: 'eu-west-1' }];
  const role = (name: string) => `arn:aws:iam::123456789012:role/${name}`;

  it('turns Object Lock on by default, one day per version, with no extra readers or node roles', () => {
    expect(parseConfig({ clusters }).bucket).toEqual({
      objectLockDays: 1,
      noncurrentDays: 30,
      nodeRoleArns: [],
      breakGlassRoleArns: [],
    });
  });

  it('turns Object Lock off with objectLock: false, and takes the listed roles', () => {
    const bucket = parseConfig({
      clusters,
      bucket: {
        objectLock: false,
        nodeRoleArns: [role('k8s-control-plane')],
        breakGlassRoleArns: [role('ops/etcd-restore')],
      },
    }).bucket;
    expect(bucket.objectLockDays).toBeUndefined();
    expect(bucket.nodeRoleArns).toEqual([role('k8s-control-plane')]);
    expect(bucket.breakGlassRoleArns).toEqual([role('ops/etcd-restore')]);
  });

  it.each([
    [{ objectLock: false, objectLockDays: 7 }, /bucket\.objectLockDays: Object Lock is off/],
    [{ nodeRoleArns: ['k8s-control-plane'] }, /bucket\.nodeRoleArns\[0\]: must be an IAM role ARN/],
    [
      { breakGlassRoleArns: ['arn:aws:iam::123456789012:user/alice'] },
      /bucket\.breakGlassRoleArns\[0\]: must be an IAM role ARN/,
    ],
  ])('rejects bad bucket settings, naming the field (%#)', (bucket, message) => {
    expect(() => parseConfig({ clusters, bucket })).toThrow(message);
  });
});

describe('scheduleIntervalSeconds', () => {
  it('reads rate expressions and treats cron as daily', () => {
    expect(scheduleIntervalSeconds('rate(1 hour)')).toBe(3600);
    expect(scheduleIntervalSeconds('rate(15 minutes)')).toBe(900);
    expect(scheduleIntervalSeconds('rate(2 days)')).toBe(172_800);
    expect(scheduleIntervalSeconds('cron(0 3 * * ? *)')).toBe(86_400);
  });
});
