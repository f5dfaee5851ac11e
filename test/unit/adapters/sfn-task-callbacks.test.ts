import {
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  SFNServiceException,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
// types for the matchers; jest's setupFilesAfterEnv registers them at run time
import 'aws-sdk-client-mock-jest';
import { sfnTaskCallbacks } from '../../../functions/shared/adapters/aws/sfn-task-callbacks';
import { TransientError } from '../../../functions/shared/errors';

const sfn = mockClient(SFNClient);

function makeCallbacks() {
  return sfnTaskCallbacks(new SFNClient({}));
}

beforeEach(() => {
  sfn.reset();
});

describe('succeed', () => {
  it('sends the output as a JSON string', async () => {
    // Arrange
    sfn.on(SendTaskSuccessCommand).resolves({});
    const callbacks = makeCallbacks();

    // Act
    await callbacks.succeed('token-1', { healthy: true, revision: 42 });

    // Assert
    const expected = { taskToken: 'token-1', output: '{"healthy":true,"revision":42}' };
    expect(sfn).toHaveReceivedCommandTimes(SendTaskSuccessCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskSuccessCommand, expected);
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toEqual(expected);
  });

  it.each([
    ['timed out', () => new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} })],
    ['no longer exists', () => new TaskDoesNotExist({ message: 'Task Does Not Exist', $metadata: {} })],
  ])('resolves quietly when the task has %s', async (_label, gone) => {
    // Arrange
    sfn.on(SendTaskSuccessCommand).rejects(gone());
    const callbacks = makeCallbacks();

    // Act
    const succeeding = callbacks.succeed('token-1', {});

    // Assert
    await expect(succeeding).resolves.toBeUndefined();
  });

  it('rejects with the original error when the token is invalid', async () => {
    // Arrange
    const invalid = new InvalidToken({ message: 'Invalid Token', $metadata: { httpStatusCode: 400 } });
    sfn.on(SendTaskSuccessCommand).rejects(invalid);
    const callbacks = makeCallbacks();

    // Act
    const succeeding = callbacks.succeed('token-1', {});

    // Assert
    await expect(succeeding).rejects.toBe(invalid);
  });

  it('fails with TransientError when Step Functions throttles', async () => {
    // Arrange
    sfn.on(SendTaskSuccessCommand).rejects(
      new SFNServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'Rate exceeded',
      }),
    );
    const callbacks = makeCallbacks();

    // Act
    const succeeding = callbacks.succeed('token-1', {});

    // Assert
    await expect(succeeding).rejects.toThrow(TransientError);
  });
});

describe('fail', () => {
  it('sends short error and cause unchanged', async () => {
    // Arrange
    sfn.on(SendTaskFailureCommand).resolves({});
    const callbacks = makeCallbacks();

    // Act
    await callbacks.fail('token-1', 'CommandFailedError', 'etcdctl exited 1');

    // Assert
    const expected = { taskToken: 'token-1', error: 'CommandFailedError', cause: 'etcdctl exited 1' };
    expect(sfn).toHaveReceivedCommandTimes(SendTaskFailureCommand, 1);
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, expected);
    expect(sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input).toEqual(expected);
  });

  it('keeps the first 256 characters of the error and the last 32768 of the cause', async () => {
    // Arrange
    sfn.on(SendTaskFailureCommand).resolves({});
    const callbacks = makeCallbacks();
    const error = 'E'.repeat(256) + 'cut';
    // the end of a log is where the failure is, so the head is what gets dropped
    const cause = 'HEAD' + '.'.repeat(40_000) + 'TAIL';

    // Act
    await callbacks.fail('token-1', error, cause);

    // Assert
    expect(sfn).toHaveReceivedCommandWith(SendTaskFailureCommand, {
      taskToken: 'token-1',
      error: 'E'.repeat(256),
      cause: '.'.repeat(32_764) + 'TAIL',
    });
  });

  it('resolves quietly when the task has timed out', async () => {
    // Arrange
    sfn.on(SendTaskFailureCommand).rejects(new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} }));
    const callbacks = makeCallbacks();

    // Act
    const failing = callbacks.fail('token-1', 'CommandFailedError', 'x');

    // Assert
    await expect(failing).resolves.toBeUndefined();
  });

  it('rejects with the original error when the token is invalid', async () => {
    // Arrange
    const invalid = new InvalidToken({ message: 'Invalid Token', $metadata: { httpStatusCode: 400 } });
    sfn.on(SendTaskFailureCommand).rejects(invalid);
    const callbacks = makeCallbacks();

    // Act
    const failing = callbacks.fail('token-1', 'CommandFailedError', 'x');

    // Assert
    await expect(failing).rejects.toBe(invalid);
  });
});
