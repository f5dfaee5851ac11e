import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
// types for the matchers; jest's setupFilesAfterEnv registers them at run time
import 'aws-sdk-client-mock-jest';
import { ACCOUNT, configDir, run, stackOutputs } from './harness';

const sfn = mockClient(SFNClient);
const cloudFormation = mockClient(CloudFormationClient);
const UPGRADE_ARN = `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:caretaker-eks-upgrade`;
const CONFIG = {
  clusters: [
    { name: 'prod-eks', kind: 'eks', region: 'eu-west-1' },
    { name: 'prod-eu', kind: 'kubeadm', region: 'eu-west-1' },
  ],
};

beforeEach(() => {
  sfn.reset();
  cloudFormation.reset();
  sfn
    .on(StartExecutionCommand)
    .resolves({ executionArn: 'arn:exec', startDate: new Date('2024-05-01T10:00:01Z') });
  cloudFormation.on(DescribeStacksCommand).resolves(stackOutputs({ EksUpgradeStateMachineArn: UPGRADE_ARN }));
});

describe('caretaker eks-upgrade', () => {
  it('starts eks-upgrade with --version and --dry-run as the execution input', async () => {
    const { file } = configDir(CONFIG);
    const out = await run(['eks-upgrade', 'prod-eks', '--version', '1.32', '--dry-run', '--config', file]);

    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(JSON.parse(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input.input!)).toEqual({
      cluster: 'prod-eks',
      requestedBy: 'cli',
      version: '1.32',
      dryRun: true,
    });
  });

  it('rejects a kubeadm cluster and starts nothing', async () => {
    const { file } = configDir(CONFIG);
    const out = await run(['eks-upgrade', 'prod-eu', '--config', file]);

    expect(out.code).toBe(1);
    expect(out.stderr).toBe(
      'caretaker: prod-eu is a kubeadm cluster: eks-upgrade works on eks clusters only; nothing was started\n',
    );
    expect(sfn.calls()).toHaveLength(0);
  });

  it('rejects a malformed version, naming the field, and starts nothing', async () => {
    const { file } = configDir(CONFIG);
    const out = await run(['eks-upgrade', 'prod-eks', '--version', '1.32.4', '--config', file]);

    expect(out.code).not.toBe(0);
    expect(out.stderr).toContain('version: must be a Kubernetes minor version such as 1.32');
    expect(sfn.calls()).toHaveLength(0);
  });

  it('says plainly that an EKS cluster has no etcd backups', async () => {
    const { file } = configDir(CONFIG);
    const out = await run(['backup', 'prod-eks', '--config', file]);

    expect(out.code).toBe(1);
    expect(out.stderr).toContain('prod-eks is an EKS cluster: AWS runs its etcd');
    expect(sfn.calls()).toHaveLength(0);
  });
});

describe('caretaker and EKS clusters', () => {
  it('status says an EKS cluster has no etcd backups instead of listing none, calling nothing', async () => {
    const { file } = configDir(CONFIG);
    const out = await run(['status', 'prod-eks', '--config', file]);

    expect(out.code).toBe(0);
    expect(out.stdout).toContain(
      'prod-eks is an EKS cluster: AWS runs its etcd and control plane, so Caretaker takes no etcd backups of it',
    );
    expect(cloudFormation.calls()).toHaveLength(0);
  });

  it('--help says what Caretaker does and does not do for EKS', async () => {
    const out = await run(['--help']);

    expect(out.stdout).toContain('AWS runs etcd and the control plane, so Caretaker takes no etcd');
    expect(out.stdout).toMatch(/eks-upgrade <cluster>\s+upgrade an EKS cluster/);
  });
});
