import { runSandbox } from '../../../sandbox/main';

describe('the EKS sandbox arguments', () => {
  it.each([
    [['eks-upgrade', '1.32.1'], 'sandbox: version: "1.32.1" is not a Kubernetes minor version'],
    [
      ['eks-patch-nodegroups', '1.32'],
      'sandbox: eks-patch-nodegroups takes no version (only eks-upgrade does)',
    ],
    [
      ['eks-upgrade', '--fail', 'everything'],
      'sandbox: --fail must be cluster, addon/<name> or nodegroup/<name>, not "everything"',
    ],
  ])('rejects %j before starting anything', async (argv, message) => {
    const err: string[] = [];
    const out: string[] = [];

    const code = await runSandbox(argv, { out: (l) => out.push(l), err: (l) => err.push(l) });

    expect(code).toBe(2);
    expect(err.join('\n')).toContain(message);
    expect(out).toEqual([]);
  });
});
