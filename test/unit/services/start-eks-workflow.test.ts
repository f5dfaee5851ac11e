import { InvalidInputError, NotForThisKindError } from '../../../functions/shared/errors';
import { startWorkflow } from '../../../functions/start-workflow/service';
import { eksTestClusters } from '../../support/fake-eks';
import { staticDirectory } from '../../support/fakes';

const arns = {
  'etcd-backup': 'arn:aws:states:eu-west-1:123456789012:stateMachine:caretaker-etcd-backup',
  'eks-upgrade': 'arn:aws:states:eu-west-1:123456789012:stateMachine:caretaker-eks-upgrade',
};

function deps() {
  const starter = { start: jest.fn(async () => ({ executionArn: 'arn:exec', duplicate: false })) };
  return { starter, d: { clusters: staticDirectory(eksTestClusters()), starter, stateMachines: arns } };
}

const request = (workflow: string, cluster: string, input?: Record<string, unknown>) => ({
  workflow,
  cluster,
  scheduledTime: '2026-11-30T10:00:00Z',
  requestedBy: 'slack:U024BE7LH',
  ...(input && { input }),
});

describe('startWorkflow and the kind of cluster', () => {
  it('starts eks-upgrade for an EKS cluster with its version and dry run', async () => {
    const { starter, d } = deps();
    await startWorkflow(request('eks-upgrade', 'prod-eks', { version: '1.32', dryRun: true }), d);
    expect(starter.start).toHaveBeenCalledWith(
      arns['eks-upgrade'],
      expect.stringMatching(/^eks-upgrade-prod-eks-/),
      {
        cluster: 'prod-eks',
        requestedBy: 'slack:U024BE7LH',
        version: '1.32',
        dryRun: true,
      },
    );
  });

  it('rejects eks-upgrade of a kubeadm cluster and starts nothing', async () => {
    const { starter, d } = deps();
    const run = startWorkflow(request('eks-upgrade', 'prod-eu'), d);
    await expect(run).rejects.toThrow(NotForThisKindError);
    await expect(startWorkflow(request('eks-upgrade', 'prod-eu'), d)).rejects.toThrow(
      'cluster: prod-eu is a kubeadm cluster; eks-upgrade works on eks clusters only. Nothing was started.',
    );
    expect(starter.start).not.toHaveBeenCalled();
  });

  it('rejects an etcd backup of an EKS cluster, whose etcd AWS runs', async () => {
    const { starter, d } = deps();
    await expect(startWorkflow(request('etcd-backup', 'prod-eks'), d)).rejects.toThrow(
      'prod-eks is an EKS cluster: AWS runs its etcd, so etcd-backup does not apply',
    );
    expect(starter.start).not.toHaveBeenCalled();
  });

  it.each([['1.32.1'], ['v1.32'], ['latest']])(
    'rejects the malformed version %s, naming the field',
    async (version) => {
      const { starter, d } = deps();
      await expect(startWorkflow(request('eks-upgrade', 'prod-eks', { version }), d)).rejects.toThrow(
        InvalidInputError,
      );
      await expect(startWorkflow(request('eks-upgrade', 'prod-eks', { version }), d)).rejects.toThrow(
        /eks-upgrade input: version: must be a Kubernetes minor version such as 1\.32/,
      );
      expect(starter.start).not.toHaveBeenCalled();
    },
  );

  it('rejects an unknown cluster', async () => {
    const { starter, d } = deps();
    await expect(startWorkflow(request('eks-upgrade', 'nope'), d)).rejects.toThrow(
      'cluster "nope" is not configured',
    );
    expect(starter.start).not.toHaveBeenCalled();
  });
});
