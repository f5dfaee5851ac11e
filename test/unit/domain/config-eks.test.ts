import { parseConfig } from '../../../functions/shared/domain/config';
import { eksPatchNodegroups, eksUpgrade, scheduleOf } from '../../../functions/shared/workflows';

const eks = (block?: Record<string, unknown>) =>
  parseConfig({
    clusters: [{ name: 'apps', kind: 'eks', region: 'eu-west-1', ...(block && { eks: block }) }],
  }).clusters[0]!;

describe('the eks block', () => {
  it('fills in the defaults for an EKS cluster without one, and schedules no patching', () => {
    const c = eks();
    expect(c.eks).toEqual({
      forceNodegroupUpdate: false,
      minFreeIps: 5,
      timeoutMinutes: { controlPlane: 90, addon: 30, nodegroup: 180 },
      patch: { enabled: false, schedule: 'cron(0 3 ? * SUN *)', timeZone: 'UTC', windowMinutes: 240 },
    });
    expect(scheduleOf(eksPatchNodegroups, c)).toBeUndefined();
    expect(scheduleOf(eksUpgrade, c)).toBeUndefined();
    expect(c.backup.enabled).toBe(false);
    expect(c.etcd).toBeUndefined();
  });

  it('schedules patching in the window a patch block names', () => {
    const c = eks({
      forceNodegroupUpdate: true,
      patch: { schedule: 'cron(0 2 ? * SAT *)', timeZone: 'Europe/Berlin' },
    });
    expect(c.eks?.forceNodegroupUpdate).toBe(true);
    expect(scheduleOf(eksPatchNodegroups, c)).toEqual({
      expression: 'cron(0 2 ? * SAT *)',
      timeZone: 'Europe/Berlin',
    });
  });

  it('rejects an eks block on a cluster that is not EKS, naming the field', () => {
    expect(() =>
      parseConfig({ clusters: [{ name: 'prod', kind: 'kubeadm', region: 'eu-west-1', eks: {} }] }),
    ).toThrow('clusters[0] (prod).eks: only EKS clusters (kind "eks") take an eks block; remove it');
  });

  it.each([
    [{ patch: { schedule: 'every sunday' } }, 'clusters[0] (apps).eks.patch.schedule'],
    [{ minFreeIps: -1 }, 'clusters[0] (apps).eks.minFreeIps'],
    [{ force: true }, 'clusters[0] (apps).eks'],
    [{ timeoutMinutes: { nodegroup: 5 } }, 'clusters[0] (apps).eks.timeoutMinutes.nodegroup'],
  ])('rejects %j, naming the field', (block, field) => {
    expect(() => eks(block)).toThrow(field);
  });

  it('refuses etcd backups on EKS: AWS runs etcd', () => {
    expect(() =>
      parseConfig({
        clusters: [{ name: 'apps', kind: 'eks', region: 'eu-west-1', backup: { enabled: true } }],
      }),
    ).toThrow('etcd backups are not possible on EKS (AWS owns etcd)');
  });
});
