import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { SendTaskFailureCommand, SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import type { CliDeps, Io } from '../../../cli/context';
import { main } from '../../../cli/main';
import { dynamoApprovalStore } from '../../../functions/shared/adapters/aws/dynamo-approval-store';
import type { ApprovalRecord } from '../../../functions/shared/domain/approvals';
import { startDynalite, type LocalDynamo } from '../../../sandbox/dynalite';
import { ACCOUNT, BACKUP_ARN, configDir, NOW, stackOutputs } from './harness';

const sfn = mockClient(SFNClient);
const cloudFormation = mockClient(CloudFormationClient);
const TABLE = 'operations';
const NAME = 'etcd-backup-prod-eu-20240501T100000Z-cli';
const EXECUTION_ARN = `arn:aws:states:eu-west-1:${ACCOUNT}:execution:caretaker-etcd-backup:${NAME}`;

let db: LocalDynamo;
beforeAll(async () => {
  db = await startDynalite();
  await db.createTable(TABLE);
});
afterAll(async () => db.stop());
beforeEach(() => {
  sfn.reset();
  cloudFormation.reset();
  sfn.on(SendTaskSuccessCommand).resolves({});
  sfn.on(SendTaskFailureCommand).resolves({});
  cloudFormation
    .on(DescribeStacksCommand)
    .resolves(stackOutputs({ EtcdBackupStateMachineArn: BACKUP_ARN, OperationsTableName: TABLE }));
});

const CONFIG = {
  clusters: [
    {
      name: 'prod-eu',
      kind: 'kubeadm',
      region: 'eu-west-1',
      approval: { approvers: ['cli:alice', 'cli:bob'] },
    },
  ],
};

let n = 0;
async function pending(over: Partial<ApprovalRecord> = {}): Promise<ApprovalRecord> {
  const record: ApprovalRecord = {
    approvalId: `apr-cli-test-${++n}`,
    taskToken: `token-${n}`,
    executionId: `${EXECUTION_ARN}-${n}`,
    cluster: 'prod-eu',
    workflow: 'etcd-backup',
    requestedBy: 'cli:bob',
    summary: 'plan',
    requestedAt: '2024-05-01T09:59:00.000Z',
    expiresAt: '2024-05-01T10:59:00.000Z',
    status: 'pending',
    ...over,
  };
  await dynamoApprovalStore(TABLE, db.doc).put(record);
  return record;
}

async function cli(argv: string[], env: NodeJS.ProcessEnv = {}) {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (t: string) => (stdout += t) },
    stderr: { write: (t: string) => (stderr += t) },
    env,
  };
  const cwd = configDir(CONFIG).dir;
  const deps: CliDeps = {
    sfn: (region) => new SFNClient({ region }),
    s3: () => {
      throw new Error('not used');
    },
    cloudFormation: (region) => new CloudFormationClient({ region }),
    dynamo: () => db.doc,
    now: () => NOW,
    sleep: async () => undefined,
    cwd: () => cwd,
    loadSandbox: async () => undefined,
  };
  const code = await main(argv, io, deps);
  return { code, stdout, stderr };
}

describe('caretaker approve / deny', () => {
  it('approves by execution ARN as cli:<--as>, sending the decision with SendTaskSuccess', async () => {
    const r = await pending();

    const out = await cli(['approve', r.executionId, '--as', 'alice', '--reason', 'looks fine']);

    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(`approved etcd-backup on prod-eu as cli:alice (approval ${r.approvalId})\n`);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, {
      taskToken: r.taskToken,
      output: JSON.stringify({
        approvalId: r.approvalId,
        decision: 'approved',
        by: 'cli:alice',
        at: NOW.toISOString(),
        reason: 'looks fine',
      }),
    });
    expect(await dynamoApprovalStore(TABLE, db.doc).get(r.approvalId)).toMatchObject({
      status: 'approved',
      decidedBy: 'cli:alice',
    });
  });

  it('finds the execution by name through the stack, and the table through its output', async () => {
    const r = await pending({ executionId: EXECUTION_ARN });

    const out = await cli(['approve', NAME], { CARETAKER_USER: 'alice' });

    expect(out.code).toBe(0);
    expect(out.stdout).toContain(r.approvalId);
    expect(cloudFormation).toHaveReceivedCommandTimes(DescribeStacksCommand, 1);
  });

  it('denies with a reason through SendTaskFailure ApprovalDeniedError', async () => {
    const r = await pending();

    const out = await cli([
      'deny',
      r.executionId,
      '--as',
      'alice',
      '--reason',
      'freeze week',
      '--table',
      TABLE,
    ]);

    expect(out.code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: r.taskToken,
      error: 'ApprovalDeniedError',
      cause: `etcd-backup on prod-eu was denied by cli:alice at ${NOW.toISOString()}: freeze week`,
    });
  });

  it('rejects deny without --reason, and a decider with no name, before touching anything', async () => {
    const r = await pending();

    const noReason = await cli(['deny', r.executionId, '--as', 'alice']);
    const noName = await cli(['approve', r.executionId]);

    expect(noReason).toMatchObject({ code: 2 });
    expect(noReason.stderr).toContain('deny: --reason is required');
    expect(noName).toMatchObject({ code: 2 });
    expect(noName.stderr).toContain('--as NAME');
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('refuses the requester approving their own run and a second decision, exit 1, nothing sent', async () => {
    const r = await pending();

    const own = await cli(['approve', r.executionId, '--as', 'bob']);
    await cli(['approve', r.executionId, '--as', 'alice']);
    sfn.resetHistory();
    const again = await cli(['deny', r.executionId, '--as', 'alice', '--reason', 'no']);

    expect(own.code).toBe(1);
    expect(own.stderr).toContain('cli:bob asked for this run and may not approve it');
    expect(again.code).toBe(1);
    expect(again.stderr).toContain('was already approved by cli:alice');
    expect(sfn).not.toHaveReceivedAnyCommand();
  });

  it('refuses an expired gate and an unknown execution', async () => {
    const r = await pending({ expiresAt: '2024-05-01T09:59:30.000Z' });

    const expired = await cli(['approve', r.executionId, '--as', 'alice']);
    const unknown = await cli(['approve', `${EXECUTION_ARN}-none`, '--as', 'alice']);
    const garbage = await cli(['approve', 'not-an-execution', '--as', 'alice']);

    expect(expired.stderr).toContain('expired at 2024-05-01T09:59:30.000Z');
    expect(unknown.stderr).toContain('no approval is known for execution');
    expect(garbage).toMatchObject({ code: 2 });
    expect(sfn).not.toHaveReceivedAnyCommand();
  });
});
