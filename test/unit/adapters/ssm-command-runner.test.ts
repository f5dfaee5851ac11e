import {
  GetCommandInvocationCommand,
  InvalidInstanceId,
  InvocationDoesNotExist,
  SendCommandCommand,
  SSMClient,
  SSMServiceException,
} from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
// types for the matchers; jest's setupFilesAfterEnv registers them at run time
import 'aws-sdk-client-mock-jest';
import { ssmCommandRunner } from '../../../functions/shared/adapters/aws/ssm-command-runner';
import { TransientError } from '../../../functions/shared/errors';
import type { CommandRequest } from '../../../functions/shared/ports';

const ssm = mockClient(SSMClient);

const request: CommandRequest = {
  documentName: 'Caretaker-EtcdSnapshot',
  instanceId: 'i-0aaa',
  parameters: { Cluster: 'prod', Bucket: 'caretaker-snapshots' },
  deliveryTimeoutSeconds: 600,
  comment: 'caretaker etcd-backup prod',
};

function makeRunner() {
  return ssmCommandRunner(new SSMClient({}));
}

beforeEach(() => {
  ssm.reset();
});

describe('send', () => {
  it('sends the document to the one instance with each parameter as a one-element list', async () => {
    // Arrange
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    const runner = makeRunner();

    // Act
    const out = await runner.send(request);

    // Assert
    const expected = {
      DocumentName: 'Caretaker-EtcdSnapshot',
      InstanceIds: ['i-0aaa'],
      Parameters: { Cluster: ['prod'], Bucket: ['caretaker-snapshots'] },
      TimeoutSeconds: 600,
      Comment: 'caretaker etcd-backup prod',
    };
    expect(out).toEqual({ commandId: 'cmd-1' });
    expect(ssm).toHaveReceivedCommandTimes(SendCommandCommand, 1);
    expect(ssm).toHaveReceivedCommandWith(SendCommandCommand, expected);
    expect(ssm.commandCalls(SendCommandCommand)[0]?.args[0].input).toEqual(expected);
  });

  it('pins the document to the version the stack wrote', async () => {
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    const runner = ssmCommandRunner(new SSMClient({}), { 'Caretaker-EtcdSnapshot': '7' });

    await runner.send(request);

    expect(ssm).toHaveReceivedCommandWith(SendCommandCommand, {
      DocumentName: 'Caretaker-EtcdSnapshot',
      DocumentVersion: '7',
    });
  });

  it('rejects a document the pinned versions do not name, sending nothing', async () => {
    const runner = ssmCommandRunner(new SSMClient({}), { 'Caretaker-EtcdStatus': '3' });

    await expect(runner.send(request)).rejects.toThrow(
      /no pinned version of SSM document Caretaker-EtcdSnapshot/,
    );
    expect(ssm).toHaveReceivedCommandTimes(SendCommandCommand, 0);
  });

  it('raises a timeout below 30 seconds to the SSM minimum of 30', async () => {
    // Arrange
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    const runner = makeRunner();

    // Act
    await runner.send({ ...request, deliveryTimeoutSeconds: 5 });

    // Assert
    expect(ssm).toHaveReceivedCommandWith(SendCommandCommand, { TimeoutSeconds: 30 });
  });

  it('lowers a timeout above 30 days to the SSM maximum of 2592000 seconds', async () => {
    // Arrange
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    const runner = makeRunner();

    // Act
    await runner.send({ ...request, deliveryTimeoutSeconds: 3_000_000 });

    // Assert
    expect(ssm).toHaveReceivedCommandWith(SendCommandCommand, { TimeoutSeconds: 2_592_000 });
  });

  it('truncates the comment to the 100 characters SSM accepts', async () => {
    // Arrange
    ssm.on(SendCommandCommand).resolves({ Command: { CommandId: 'cmd-1' } });
    const runner = makeRunner();

    // Act
    await runner.send({ ...request, comment: 'c'.repeat(100) + 'overflow' });

    // Assert
    expect(ssm).toHaveReceivedCommandWith(SendCommandCommand, { Comment: 'c'.repeat(100) });
  });

  it('fails naming the instance when SSM returns no CommandId', async () => {
    // Arrange
    ssm.on(SendCommandCommand).resolves({ Command: {} });
    const runner = makeRunner();

    // Act
    const sending = runner.send(request);

    // Assert
    await expect(sending).rejects.toThrow('SendCommand returned no CommandId for i-0aaa');
  });

  it('fails with TransientError when SSM throttles', async () => {
    // Arrange
    ssm.on(SendCommandCommand).rejects(
      new SSMServiceException({
        name: 'ThrottlingException',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'rate exceeded',
      }),
    );
    const runner = makeRunner();

    // Act
    const sending = runner.send(request);

    // Assert
    await expect(sending).rejects.toThrow(TransientError);
  });

  it('rejects with the original error when the instance id is invalid', async () => {
    // Arrange
    const invalid = new InvalidInstanceId({ message: 'not managed', $metadata: { httpStatusCode: 400 } });
    ssm.on(SendCommandCommand).rejects(invalid);
    const runner = makeRunner();

    // Act
    const sending = runner.send(request);

    // Assert
    await expect(sending).rejects.toBe(invalid);
  });
});

describe('getInvocation', () => {
  it('asks for the invocation by command and instance and maps status, exit code and output', async () => {
    // Arrange
    ssm.on(GetCommandInvocationCommand).resolves({
      Status: 'Success',
      ResponseCode: 0,
      StandardOutputContent: 'CARETAKER_RESULT {}',
      StandardErrorContent: 'warning',
    });
    const runner = makeRunner();

    // Act
    const invocation = await runner.getInvocation('cmd-1', 'i-0aaa');

    // Assert
    const expected = { CommandId: 'cmd-1', InstanceId: 'i-0aaa' };
    expect(invocation).toEqual({
      status: 'Success',
      exitCode: 0,
      stdout: 'CARETAKER_RESULT {}',
      stderr: 'warning',
    });
    expect(ssm).toHaveReceivedCommandTimes(GetCommandInvocationCommand, 1);
    expect(ssm).toHaveReceivedCommandWith(GetCommandInvocationCommand, expected);
    expect(ssm.commandCalls(GetCommandInvocationCommand)[0]?.args[0].input).toEqual(expected);
  });

  it('reports a pending invocation with exit code -1 and empty output when SSM omits them', async () => {
    // Arrange
    ssm.on(GetCommandInvocationCommand).resolves({});
    const runner = makeRunner();

    // Act
    const invocation = await runner.getInvocation('cmd-1', 'i-0aaa');

    // Assert
    expect(invocation).toEqual({ status: 'Pending', exitCode: -1, stdout: '', stderr: '' });
  });

  it('returns undefined when SSM does not know the invocation yet', async () => {
    // Arrange
    ssm
      .on(GetCommandInvocationCommand)
      .rejects(new InvocationDoesNotExist({ message: 'no such invocation', $metadata: {} }));
    const runner = makeRunner();

    // Act
    const invocation = await runner.getInvocation('cmd-1', 'i-0aaa');

    // Assert
    expect(invocation).toBeUndefined();
  });

  it('fails with TransientError when SSM answers with a 5xx', async () => {
    // Arrange
    ssm.on(GetCommandInvocationCommand).rejects(
      new SSMServiceException({
        name: 'InternalServerError',
        $fault: 'server',
        $metadata: { httpStatusCode: 500 },
        message: 'internal failure',
      }),
    );
    const runner = makeRunner();

    // Act
    const getting = runner.getInvocation('cmd-1', 'i-0aaa');

    // Assert
    await expect(getting).rejects.toThrow(TransientError);
  });
});
