import { COMMANDS, parseCommandArgs, planCommand } from '../../../functions/shared/domain/commands';
import { parseConfig } from '../../../functions/shared/domain/config';
import { InvalidInputError, NotForThisKindError } from '../../../functions/shared/errors';

const [kubeadm, kops, eks] = parseConfig({
  clusters: [
    { name: 'prod-eu', kind: 'kubeadm', region: 'eu-west-1' },
    { name: 'edge', kind: 'kops', region: 'eu-west-1' },
    { name: 'apps', kind: 'eks', region: 'eu-west-1' },
  ],
}).clusters;
const context = { executionId: 'patch-workers-prod-eu-20261130T130500Z', bucket: 'caretaker-snaps' };
const OWNER = 'patch-workers-prod-eu-20261130T130500Z';

describe('the node commands of the catalog', () => {
  it('runs kubectl with the kubeconfig the cluster kind keeps on its control-plane nodes', () => {
    expect(planCommand('node-status', kubeadm!, context, { node: 'worker-1' }).parameters).toEqual({
      Kubeconfig: '/etc/kubernetes/admin.conf',
      Node: 'worker-1',
    });
    expect(planCommand('node-status', kops!, context, { node: 'worker-1' }).parameters.Kubeconfig).toBe(
      '/var/lib/kubectl/kubeconfig',
    );
  });

  it('plans a drain with every document parameter as a string, force off by default', () => {
    const plan = planCommand('node-drain', kubeadm!, context, {
      node: 'ip-10-0-1-23.eu-west-1.compute.internal',
      timeoutSeconds: 600,
      gracePeriodSeconds: -1,
      deleteEmptyDirData: true,
      disableEviction: false,
    });

    expect(plan).toMatchObject({ target: 'control-plane', subject: 'node', executionTimeoutSeconds: 3900 });
    expect(plan.parameters).toEqual({
      Kubeconfig: '/etc/kubernetes/admin.conf',
      Node: 'ip-10-0-1-23.eu-west-1.compute.internal',
      TimeoutSeconds: '600',
      GracePeriodSeconds: '-1',
      DeleteEmptyDirData: 'true',
      DisableEviction: 'false',
      Force: 'false',
    });
  });

  it('writes the inventory to the bucket of the context, under the key it was given', () => {
    const plan = planCommand('node-inventory', kubeadm!, context, { key: 'prod-eu/patch/run-1/nodes.json' });

    expect(plan.parameters).toEqual({
      Kubeconfig: '/etc/kubernetes/admin.conf',
      Bucket: 'caretaker-snaps',
      Key: 'prod-eu/patch/run-1/nodes.json',
      PodSelector: '',
    });
    expect(plan.subject).toBe('self');
  });

  it('plans cordon, record and patch parameters from their args', () => {
    expect(
      planCommand('node-cordon', kubeadm!, context, { node: 'worker-1', action: 'uncordon', owner: OWNER })
        .parameters,
    ).toEqual({
      Kubeconfig: '/etc/kubernetes/admin.conf',
      Node: 'worker-1',
      Action: 'uncordon',
      Owner: OWNER,
    });
    expect(
      planCommand('node-record', kubeadm!, context, {
        node: 'worker-1',
        patchedAt: '2026-11-30T13:05:00.000Z',
        packages: 3,
        summary: 'apt:openssl,curl',
        owner: OWNER,
      }).parameters,
    ).toEqual({
      Kubeconfig: '/etc/kubernetes/admin.conf',
      Node: 'worker-1',
      PatchedAt: '2026-11-30T13:05:00.000Z',
      Packages: '3',
      Summary: 'apt:openssl,curl',
      Owner: OWNER,
    });
    expect(planCommand('os-patch', kubeadm!, context, { scope: 'all', reboot: 'never' })).toMatchObject({
      target: 'node',
      subject: 'self',
      parameters: { Scope: 'all', Reboot: 'never' },
    });
    expect(
      planCommand('os-patch-baseline', kubeadm!, context, {
        method: 'patch-baseline',
        scope: 'security',
        reboot: 'always',
      }).parameters,
    ).toEqual({ Reboot: 'always' });
  });

  it('patches EKS nodes, but refuses kubectl commands for EKS: it has no control-plane node', () => {
    expect(() =>
      planCommand('node-cordon', eks!, context, { node: 'w', action: 'cordon', owner: OWNER }),
    ).toThrow(NotForThisKindError);
    expect(() => planCommand('node-inventory', eks!, context, { key: 'apps/x.json' })).toThrow(
      /no control-plane node to run kubectl on/,
    );
    expect(planCommand('os-patch', eks!, context, { scope: 'security', reboot: 'if-required' }).command).toBe(
      'os-patch',
    );
  });

  it.each([
    [
      'node-inventory',
      { key: 'lab/patch/nodes.json' },
      /args\.key: "lab\/patch\/nodes\.json" is not under prod-eu\//,
    ],
    [
      'node-inventory',
      { key: 'prod-eu/../other/x.json' },
      /args\.key: .* has an empty, \. or \.\. path segment/,
    ],
    ['node-inventory', { key: 'prod-eu/x.json', podSelector: 'app in (a,b)' }, /args\.podSelector: must be/],
    [
      'node-cordon',
      { node: 'Worker_1', action: 'cordon', owner: OWNER },
      /args\.node: must be a Kubernetes Node name/,
    ],
    ['node-cordon', { node: 'worker-1', action: 'drain', owner: OWNER }, /args\.action/],
    [
      'node-cordon',
      { node: 'worker-1', action: 'cordon', owner: 'me; reboot' },
      /args\.owner: must be an execution name/,
    ],
    [
      'node-drain',
      {
        node: 'worker-1',
        timeoutSeconds: 3601,
        gracePeriodSeconds: -1,
        deleteEmptyDirData: false,
        disableEviction: false,
      },
      /args\.timeoutSeconds/,
    ],
    [
      'node-drain',
      {
        node: 'worker-1',
        timeoutSeconds: 60,
        gracePeriodSeconds: -2,
        deleteEmptyDirData: false,
        disableEviction: false,
      },
      /args\.gracePeriodSeconds/,
    ],
    [
      'node-record',
      { node: 'worker-1', patchedAt: '2026-11-30T13:05:00+01:00', packages: 1, summary: 'x', owner: OWNER },
      /args\.patchedAt: must be an ISO time in UTC/,
    ],
    [
      'node-record',
      {
        node: 'worker-1',
        patchedAt: '2026-11-30T13:05:00Z',
        packages: 1,
        summary: 'two words',
        owner: OWNER,
      },
      /args\.summary: must be at most 200/,
    ],
    ['os-patch', { method: 'patch-baseline', scope: 'security', reboot: 'if-required' }, /args\.method/],
    ['os-patch', { scope: 'critical', reboot: 'if-required' }, /args\.scope/],
    ['os-patch-baseline', { method: 'package-manager', reboot: 'never' }, /args\.method/],
  ] as const)('rejects bad %s args, naming the field: %j', (name, args, message) => {
    const parse = () => parseCommandArgs(COMMANDS[name], 'prod-eu', args);

    expect(parse).toThrow(InvalidInputError);
    expect(parse).toThrow(message);
  });
});
