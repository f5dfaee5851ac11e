import {
  CloudFormationClient,
  CloudFormationServiceException,
  DescribeStacksCommand,
} from '@aws-sdk/client-cloudformation';
import { GetExecutionHistoryCommand, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
// types for the matchers; jest's setupFilesAfterEnv registers them at run time
import 'aws-sdk-client-mock-jest';
import { ACCOUNT, BACKUP_ARN, configDir, run, stackOutputs } from './harness';
import { FAILED_HISTORY, historyPages, SNAPSHOT_CAUSE, SUCCEEDED_HISTORY } from './history-fixtures';

const sfn = mockClient(SFNClient);
const cloudFormation = mockClient(CloudFormationClient);

const NAME = 'etcd-backup-prod-eu-20240501T100000Z-cli';
const EXECUTION_ARN = `arn:aws:states:eu-west-1:${ACCOUNT}:execution:caretaker-etcd-backup:${NAME}`;
const FLAG_ARN = `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:from-flag`;
const ENV_ARN = `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:from-env`;

beforeEach(() => {
  sfn.reset();
  cloudFormation.reset();
  sfn
    .on(StartExecutionCommand)
    .resolves({ executionArn: EXECUTION_ARN, startDate: new Date('2024-05-01T10:00:01Z') });
  cloudFormation
    .on(DescribeStacksCommand)
    .resolves(stackOutputs({ EtcdBackupStateMachineArn: BACKUP_ARN, SnapshotBucketName: 'snapshots' }));
});

describe('caretaker backup', () => {
  it("starts etcd-backup with the cluster as input under a cli execution name, from the stack's output", async () => {
    // Act
    const out = await run(['backup', 'prod-eu']);

    // Assert
    expect(out.code).toBe(0);
    expect(out.stdout).toBe(`${EXECUTION_ARN}\n`);
    expect(cloudFormation).toHaveReceivedCommandTimes(DescribeStacksCommand, 1);
    expect(cloudFormation).toHaveReceivedCommandWith(DescribeStacksCommand, {
      StackName: 'Caretaker-eu-west-1',
    });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input).toEqual({
      stateMachineArn: BACKUP_ARN,
      name: NAME,
      input: '{"cluster":"prod-eu","requestedBy":"cli"}',
    });
    expect(out.regions.cloudFormation).toEqual(['eu-west-1']);
    expect(out.regions.sfn).toEqual(['eu-west-1']);
  });

  it('prints the started execution as JSON with --json', async () => {
    // Act
    const out = await run(['backup', 'prod-eu', '--json']);

    // Assert
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual({
      executionArn: EXECUTION_ARN,
      name: NAME,
      stateMachineArn: BACKUP_ARN,
      startDate: '2024-05-01T10:00:01.000Z',
    });
  });

  it("looks in the stack of the cluster's own region", async () => {
    // Act
    const out = await run(['backup', 'lab-us']);

    // Assert
    expect(out.code).toBe(0);
    expect(cloudFormation).toHaveReceivedCommandWith(DescribeStacksCommand, {
      StackName: 'Caretaker-us-east-2',
    });
    expect(out.regions.cloudFormation).toEqual(['us-east-2']);
  });

  it("looks in the stack of --region over the cluster's region", async () => {
    // Act
    const out = await run(['backup', 'lab-us', '--region', 'eu-central-1']);

    // Assert
    expect(out.code).toBe(0);
    expect(cloudFormation).toHaveReceivedCommandWith(DescribeStacksCommand, {
      StackName: 'Caretaker-eu-central-1',
    });
  });

  it('reads the configuration named by --config', async () => {
    // Act: the example lists edge; the default CONFIG does not
    const out = await run([
      'backup',
      'edge',
      '--config',
      `${__dirname}/../../../caretaker.config.example.json`,
    ]);

    // Assert
    expect(out.code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, {
      input: '{"cluster":"edge","requestedBy":"cli"}',
    });
  });
});

describe('state machine ARN resolution', () => {
  it('uses --state-machine-arn before the environment and the stack', async () => {
    // Act
    const out = await run(['backup', 'prod-eu', '--state-machine-arn', FLAG_ARN], {
      env: { CARETAKER_ETCD_BACKUP_ARN: ENV_ARN },
    });

    // Assert
    expect(out.code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: FLAG_ARN });
    expect(cloudFormation).not.toHaveReceivedCommand(DescribeStacksCommand);
  });

  it('uses CARETAKER_<WORKFLOW>_ARN before the stack', async () => {
    // Act
    const out = await run(['backup', 'prod-eu'], { env: { CARETAKER_ETCD_BACKUP_ARN: ENV_ARN } });

    // Assert
    expect(out.code).toBe(0);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, { stateMachineArn: ENV_ARN });
    expect(cloudFormation).not.toHaveReceivedCommand(DescribeStacksCommand);
  });

  it('reads each workflow from its own environment variable and sends the input its flags set', async () => {
    // Arrange
    const arn = `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:caretaker-restore-verify`;
    const key = 'prod-eu/etcd/2024/05/01/20240501T090000Z-r42.db';

    // Act
    const out = await run(['restore-verify', 'prod-eu', '--key', key], {
      env: { CARETAKER_ETCD_BACKUP_ARN: ENV_ARN, CARETAKER_RESTORE_VERIFY_ARN: arn },
    });

    // Assert
    expect(out.code).toBe(0);
    expect(sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input).toEqual({
      stateMachineArn: arn,
      name: 'restore-verify-prod-eu-20240501T100000Z-cli',
      input: JSON.stringify({ cluster: 'prod-eu', requestedBy: 'cli', key }),
    });
  });

  it("rejects a flag value the workflow's input schema refuses, naming the field and starting nothing", async () => {
    // Act
    const out = await run(['restore-verify', 'prod-eu', '--key', ''], {
      env: { CARETAKER_RESTORE_VERIFY_ARN: ENV_ARN },
    });

    // Assert
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(/invalid restore-verify input: key: /);
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });

  it('talks to the region a --state-machine-arn names', async () => {
    // Act
    const out = await run([
      'backup',
      'prod-eu',
      '--state-machine-arn',
      `arn:aws:states:ap-south-1:${ACCOUNT}:stateMachine:elsewhere`,
    ]);

    // Assert
    expect(out.code).toBe(0);
    expect(out.regions.sfn).toEqual(['ap-south-1']);
  });

  it.each([['restore-verify', 'restore-verify']])(
    'fails saying `%s` is not deployed when the stack has no output for it',
    async (command, workflow) => {
      // Act
      const out = await run([command, 'prod-eu']);

      // Assert
      expect(out.code).toBe(1);
      expect(out.stderr).toBe(`caretaker: the ${workflow} workflow is not deployed in Caretaker-eu-west-1\n`);
      expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
    },
  );

  it('fails saying Caretaker is not deployed when the region has no stack', async () => {
    // Arrange
    cloudFormation.on(DescribeStacksCommand).rejects(
      new CloudFormationServiceException({
        name: 'ValidationError',
        $fault: 'client',
        $metadata: {},
        message: 'Stack with id Caretaker-us-east-2 does not exist',
      }),
    );

    // Act
    const out = await run(['backup', 'lab-us']);

    // Assert
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(
      'caretaker: Caretaker-us-east-2 does not exist: Caretaker is not deployed in us-east-2',
    );
    expect(sfn).not.toHaveReceivedCommand(StartExecutionCommand);
  });
});

describe('rejections before anything starts', () => {
  it('rejects a cluster that is not in the configuration and starts nothing', async () => {
    // Act
    const out = await run(['backup', 'staging']);

    // Assert
    expect(out.code).toBe(1);
    expect(out.stderr).toMatch(
      /caretaker: cluster "staging" is not in .*caretaker\.config\.json \(it lists: prod-eu, prod, lab-us\)/,
    );
    expect(sfn.calls()).toHaveLength(0);
    expect(cloudFormation.calls()).toHaveLength(0);
  });

  it('rejects a bad configuration with the field named and starts nothing', async () => {
    // Arrange
    const { file } = configDir({
      clusters: [{ name: 'prod-eu', kind: 'kubeadm', region: 'eu-west-1', etcd: { clientPort: 0 } }],
    });

    // Act
    const out = await run(['backup', 'prod-eu', '--config', file]);

    // Assert
    expect(out.code).toBe(1);
    expect(out.stderr).toContain('clusters[0] (prod-eu).etcd.clientPort:');
    expect(sfn.calls()).toHaveLength(0);
  });

  it('rejects a backup of an EKS cluster, whose etcd AWS runs, and starts nothing', async () => {
    // Arrange
    const { file } = configDir({
      clusters: [{ name: 'managed', kind: 'eks', region: 'eu-west-1', backup: { enabled: false } }],
    });

    // Act
    const out = await run(['backup', 'managed', '--config', file]);

    // Assert
    expect(out.code).toBe(1);
    expect(out.stderr).toBe(
      'caretaker: managed is an EKS cluster: AWS runs its etcd, so the etcd-backup workflow does not apply\n',
    );
    expect(sfn.calls()).toHaveLength(0);
  });

  it('fails with exit 1 and the service error when StartExecution is refused', async () => {
    // Arrange
    sfn
      .on(StartExecutionCommand)
      .rejects(Object.assign(new Error('User is not authorized'), { name: 'AccessDeniedException' }));

    // Act
    const out = await run(['backup', 'prod-eu']);

    // Assert
    expect(out.code).toBe(1);
    expect(out.stderr).toBe('caretaker: AccessDeniedException: User is not authorized\n');
  });
});

describe('caretaker backup --follow', () => {
  it('prints each state with its elapsed time, pages the history, and exits 0 on success', async () => {
    // Arrange: the first poll sees 9 events, the second the whole run
    sfn.on(GetExecutionHistoryCommand).callsFake(historyPages(SUCCEEDED_HISTORY, [9, 16], 4));

    // Act
    const out = await run(['backup', 'prod-eu', '--follow']);

    // Assert
    expect(out.code).toBe(0);
    const tokens = sfn.commandCalls(GetExecutionHistoryCommand).map((c) => c.args[0].input.nextToken);
    expect(tokens).toEqual([undefined, '4', '8', undefined, '4', '8', '12']);
    expect(sfn).toHaveReceivedCommandWith(GetExecutionHistoryCommand, {
      executionArn: EXECUTION_ARN,
      includeExecutionData: true,
    });
    expect(out.sleeps).toEqual([2000]);
    const lines = out.stdout.split('\n');
    expect(lines).toEqual([
      'following etcd-backup of prod-eu in eu-west-1',
      `   +0:00  started  ${NAME}`,
      "   +0:00  entered  Take the cluster's operation lock",
      "   +0:01  exited   Take the cluster's operation lock",
      '   +0:01  entered  Did we get the lock?',
      '   +0:01  exited   Did we get the lock?',
      '   +0:01  entered  Find the control-plane instances',
      '   +0:02  exited   Find the control-plane instances',
      '   +0:02  entered  Take the snapshot on the picked member',
      '   +0:35  exited   Take the snapshot on the picked member',
      '',
      'SUCCEEDED after 1m 12s',
      '  Caretaker: etcd backup of prod-eu succeeded',
      '  snapshot: s3://caretaker-eu-west-1-snapshots/prod-eu/etcd/2024/05/01/20240501T100031Z-r48221.db (5.2 MiB, revision 48221)',
      '  pruned: 1 deleted, 6 kept',
      '',
    ]);
  });

  it('fails with exit 1 on FAILED and prints the failed state, the error and the cause', async () => {
    // Arrange
    sfn.on(GetExecutionHistoryCommand).callsFake(historyPages(FAILED_HISTORY, [19], 100));

    // Act
    const out = await run(['backup', 'prod-eu', '--follow']);

    // Assert
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(
      '   +1:04  failed   Take the snapshot on the picked member: CommandFailedError\n',
    );
    expect(out.stdout).toContain('   +1:05  entered  Fail with the original error\n');
    expect(out.stdout).toContain(
      `\nFAILED after 1m 05s\n  error: CommandFailedError\n  cause: ${SNAPSHOT_CAUSE}\n`,
    );
    expect(out.sleeps).toEqual([]);
  });

  it.each([
    ['ExecutionTimedOut', 'executionTimedOutEventDetails', 'TIMED_OUT'],
    ['ExecutionAborted', 'executionAbortedEventDetails', 'ABORTED'],
  ])('fails with exit 1 when the execution ends with %s', async (type, details, status) => {
    // Arrange
    const ending = {
      id: 10,
      previousEventId: 9,
      timestamp: new Date('2024-05-01T10:10:01Z'),
      type,
      [details]: { error: 'States.Timeout', cause: 'ran too long' },
    };
    sfn
      .on(GetExecutionHistoryCommand)
      .resolves({ events: [...SUCCEEDED_HISTORY.slice(0, 9), ending as never] });

    // Act
    const out = await run(['backup', 'prod-eu', '--follow']);

    // Assert
    expect(out.code).toBe(1);
    expect(out.stdout).toContain(
      `\n${status} after 10m 00s\n  error: States.Timeout\n  cause: ran too long\n`,
    );
  });

  it("shows a Lambda's error message rather than its JSON cause", async () => {
    // Arrange
    const cause = JSON.stringify({
      errorType: 'EtcdUnhealthyError',
      errorMessage: 'no member is healthy',
      trace: [],
    });
    const failed = {
      id: 10,
      previousEventId: 9,
      timestamp: new Date('2024-05-01T10:00:05Z'),
      type: 'ExecutionFailed' as const,
      executionFailedEventDetails: { error: 'EtcdUnhealthyError', cause },
    };
    sfn.on(GetExecutionHistoryCommand).resolves({ events: [...SUCCEEDED_HISTORY.slice(0, 9), failed] });

    // Act
    const out = await run(['backup', 'prod-eu', '--follow']);

    // Assert
    expect(out.code).toBe(1);
    expect(out.stdout).toContain('  error: EtcdUnhealthyError\n  cause: no member is healthy\n');
  });
});
