import {
  ExecutionAlreadyExists,
  SFNClient,
  SFNServiceException,
  StartExecutionCommand,
  StateMachineDoesNotExist,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
// types for the matchers; jest's setupFilesAfterEnv registers them at run time
import 'aws-sdk-client-mock-jest';
import { sfnWorkflowStarter } from '../../../functions/shared/adapters/aws/sfn-workflow-starter';
import { TransientError } from '../../../functions/shared/errors';

const STATE_MACHINE = 'arn:aws:states:eu-west-1:123456789012:stateMachine:caretaker-etcd-backup';
const sfn = mockClient(SFNClient);

function makeStarter() {
  return sfnWorkflowStarter(new SFNClient({}));
}

beforeEach(() => {
  sfn.reset();
});

describe('start', () => {
  it('starts a named execution with the input as JSON', async () => {
    // Arrange
    const executionArn = 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-etcd-backup:prod-1';
    sfn.on(StartExecutionCommand).resolves({ executionArn, startDate: new Date() });
    const starter = makeStarter();

    // Act
    const out = await starter.start(STATE_MACHINE, 'prod-1', { cluster: 'prod' });

    // Assert
    const expected = { stateMachineArn: STATE_MACHINE, name: 'prod-1', input: '{"cluster":"prod"}' };
    expect(out).toEqual({ executionArn, duplicate: false });
    expect(sfn).toHaveReceivedCommandTimes(StartExecutionCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(StartExecutionCommand, expected);
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual(expected);
  });

  it('reports a duplicate with the existing execution arn when the name is already taken', async () => {
    // Arrange
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    const starter = makeStarter();

    // Act
    const out = await starter.start(STATE_MACHINE, 'prod-1', { cluster: 'prod' });

    // Assert
    expect(out).toEqual({
      executionArn: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-etcd-backup:prod-1',
      duplicate: true,
    });
  });

  it('fails with TransientError when Step Functions throttles', async () => {
    // Arrange
    sfn.on(StartExecutionCommand).rejects(
      new SFNServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'Rate exceeded',
      }),
    );
    const starter = makeStarter();

    // Act
    const starting = starter.start(STATE_MACHINE, 'prod-1', {});

    // Assert
    await expect(starting).rejects.toThrow(TransientError);
  });

  it('rejects with the original error when the state machine does not exist', async () => {
    // Arrange
    const missing = new StateMachineDoesNotExist({ message: 'State Machine Does Not Exist', $metadata: {} });
    sfn.on(StartExecutionCommand).rejects(missing);
    const starter = makeStarter();

    // Act
    const starting = starter.start(STATE_MACHINE, 'prod-1', {});

    // Assert
    await expect(starting).rejects.toBe(missing);
  });
});
