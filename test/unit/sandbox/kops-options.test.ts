import { runSandbox } from '../../../sandbox/main';

describe('sandbox --kind kops', () => {
  it('rejects an unknown kind, and --source without kops or with an unknown source, before starting anything', async () => {
    const err: string[] = [];
    const io = { out: () => undefined, err: (l: string) => err.push(l) };

    expect(await runSandbox(['backup', '--kind', 'rke'], io)).toBe(2);
    expect(await runSandbox(['backup', '--source', 'caretaker'], io)).toBe(2);
    expect(await runSandbox(['backup', '--kind', 'kops', '--source', 'velero'], io)).toBe(2);

    expect(err).toEqual([
      'sandbox: --kind must be kubeadm or kops, not "rke"',
      'sandbox: --source is for --kind kops: caretaker or etcd-manager, not "caretaker"',
      'sandbox: --source is for --kind kops: caretaker or etcd-manager, not "velero"',
    ]);
  });

  it('documents --kind and --source in --help', async () => {
    const out: string[] = [];
    expect(await runSandbox(['--help'], { out: (l) => out.push(l), err: () => undefined })).toBe(0);
    expect(out.join('\n')).toMatch(/--kind kops[\s\S]*--source SOURCE/);
  });

  it('rejects --events without --kind kops before starting anything', async () => {
    const err: string[] = [];
    const io = { out: () => undefined, err: (l: string) => err.push(l) };

    expect(await runSandbox(['backup', '--events'], io)).toBe(2);

    expect(err).toEqual(['sandbox: --events is for --kind kops (only kops runs a separate events etcd)']);
  });

  it('documents --events in --help', async () => {
    const out: string[] = [];
    expect(await runSandbox(['--help'], { out: (l) => out.push(l), err: () => undefined })).toBe(0);
    expect(out.join('\n')).toMatch(/--source SOURCE[\s\S]*--events +kops: etcd\.events: true/);
  });
});
