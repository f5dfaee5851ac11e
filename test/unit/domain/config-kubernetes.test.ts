import { parseConfig } from '../../../functions/shared/domain/config';
import { InvalidInputError } from '../../../functions/shared/errors';

const cluster = (extra: Record<string, unknown>) => ({ name: 'prod', region: 'eu-west-1', ...extra });

describe('kubernetes.kubeconfig', () => {
  it.each([
    ['kubeadm', '/etc/kubernetes/admin.conf'],
    ['kubespray', '/etc/kubernetes/admin.conf'],
    ['kops', '/var/lib/kubectl/kubeconfig'],
  ])('defaults to the admin kubeconfig a %s control-plane node keeps', (kind, kubeconfig) => {
    const [c] = parseConfig({ clusters: [cluster({ kind })] }).clusters;

    expect(c!.kubernetes).toEqual({ kubeconfig });
  });

  it('takes another absolute path', () => {
    const [c] = parseConfig({
      clusters: [
        cluster({ kind: 'kubeadm', kubernetes: { kubeconfig: '/etc/kubernetes/super-admin.conf' } }),
      ],
    }).clusters;

    expect(c!.kubernetes).toEqual({ kubeconfig: '/etc/kubernetes/super-admin.conf' });
  });

  it('has none for EKS, which Caretaker drives through the EKS API', () => {
    const [c] = parseConfig({ clusters: [cluster({ kind: 'eks' })] }).clusters;

    expect(c!.kubernetes).toBeUndefined();
  });

  it.each([
    [
      { kind: 'kubeadm', kubernetes: { kubeconfig: 'admin.conf' } },
      /\.kubernetes\.kubeconfig: must be an absolute path/,
    ],
    [
      { kind: 'kubeadm', kubernetes: { kubeconfig: '/etc/kubernetes/admin.conf; id' } },
      /must be an absolute path/,
    ],
    [{ kind: 'kubeadm', kubernetes: { context: 'admin' } }, /\.kubernetes/],
    [{ kind: 'eks', kubernetes: { kubeconfig: '/etc/kubernetes/admin.conf' } }, /\.kubernetes: .*EKS API/],
  ])('rejects %j naming the field', (extra, message) => {
    expect(() => parseConfig({ clusters: [cluster(extra)] })).toThrow(InvalidInputError);
    expect(() => parseConfig({ clusters: [cluster(extra)] })).toThrow(message);
  });
});
