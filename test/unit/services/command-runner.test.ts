import { sendCommand, type SendCommandDeps } from '../../../functions/send-command/service';
import { completeInvocation, reconcile } from '../../../functions/shared/services/complete-invocation';
import { InvalidInputError } from '../../../functions/shared/errors';
import {
  fakeRunner,
  fixedClock,
  memoryTokens,
  recordingCallbacks,
  staticDirectory,
  staticInventory,
} from '../../support/fakes';

const NODE = 'i-0a1b2c3d4e5f60001';

function deps(over: Partial<Pick<SendCommandDeps, 'inventory' | 'documents'>> = {}) {
  return {
    clusters: staticDirectory(),
    inventory: staticInventory([{ instanceId: NODE }]),
    runner: fakeRunner(),
    tokens: memoryTokens(),
    clock: fixedClock(),
    documents: { 'etcd-status': 'Caretaker-EtcdStatus-X', 'etcd-snapshot': 'Caretaker-EtcdSnapshot-X' },
    bucket: 'snapshots-bucket',
    callbacks: recordingCallbacks(),
    ...over,
  };
}

const request = {
  taskToken: 'token-1',
  cluster: 'prod-eu',
  instanceId: NODE,
  command: 'etcd-snapshot' as const,
  executionId: 'arn:aws:states:eu-west-1:123456789012:execution:backup:run-1',
};

describe('sendCommand', () => {
  it('sends our document with parameters from the cluster config and parks the token with a deadline', async () => {
    const d = deps();
    const out = await sendCommand(request, d);

    expect(d.runner.sent).toEqual([
      {
        documentName: 'Caretaker-EtcdSnapshot-X',
        instanceId: NODE,
        parameters: expect.objectContaining({
          Cluster: 'prod-eu',
          Bucket: 'snapshots-bucket',
          EtcdctlMode: 'crictl',
          ExecutionId: request.executionId,
        }),
        deliveryTimeoutSeconds: 300,
        comment: 'caretaker etcd-snapshot prod-eu',
      },
    ]);
    expect(d.tokens.items.get(`${out.commandId}#${NODE}`)).toEqual({
      commandId: out.commandId,
      instanceId: NODE,
      taskToken: 'token-1',
      cluster: 'prod-eu',
      command: 'etcd-snapshot',
      sentAt: '2026-11-25T06:00:00.000Z',
      deadline: '2026-11-25T06:40:00.000Z',
    });
  });

  it('rejects an instance that is not a live control-plane node of the cluster, sending nothing', async () => {
    const d = deps({ inventory: staticInventory([{ instanceId: 'i-0ffffffffffffffff' }]) });
    await expect(sendCommand(request, d)).rejects.toThrow(InvalidInputError);
    await expect(sendCommand(request, d)).rejects.toThrow(/instanceId: i-0a1b2c3d4e5f60001 is not a running/);
    expect(d.runner.sent).toEqual([]);
    expect(d.tokens.items.size).toBe(0);
  });

  it('rejects a command with no deployed document', async () => {
    const d = deps({ documents: {} });
    await expect(sendCommand(request, d)).rejects.toThrow(/no SSM document is deployed for etcd-snapshot/);
    expect(d.runner.sent).toEqual([]);
  });

  it('rejects an unknown cluster', async () => {
    await expect(sendCommand({ ...request, cluster: 'nope' }, deps())).rejects.toThrow(
      /cluster "nope" is not configured/,
    );
  });
});

describe('completeInvocation', () => {
  async function sent() {
    const d = deps();
    const { commandId } = await sendCommand(request, d);
    return { d, commandId };
  }

  it('succeeds the task with the CARETAKER_RESULT object, the instance and the command id', async () => {
    const { d, commandId } = await sent();
    d.runner.finish(commandId, NODE, {
      status: 'Success',
      exitCode: 0,
      stdout: 'x\nCARETAKER_RESULT {"revision":7}\n',
      stderr: '',
    });

    expect(await completeInvocation(commandId, NODE, d)).toBe('succeeded');
    expect(d.callbacks.successes).toEqual([
      { taskToken: 'token-1', output: { revision: 7, instanceId: NODE, commandId } },
    ]);
    expect(d.tokens.items.size).toBe(0);
  });

  it('fails the task with CommandFailedError and the stderr tail when the script failed', async () => {
    const { d, commandId } = await sent();
    d.runner.finish(commandId, NODE, {
      status: 'Failed',
      exitCode: 2,
      stdout: '',
      stderr: 'progress\nError: context deadline exceeded',
    });

    expect(await completeInvocation(commandId, NODE, d)).toBe('failed');
    expect(d.callbacks.failures).toHaveLength(1);
    expect(d.callbacks.failures[0]).toMatchObject({ taskToken: 'token-1', error: 'CommandFailedError' });
    expect(d.callbacks.failures[0]!.cause).toMatch(/ended Failed with exit code 2/);
    expect(d.callbacks.failures[0]!.cause).toMatch(/context deadline exceeded/);
  });

  it('fails the task with CommandTimedOutError when SSM timed the command out', async () => {
    const { d, commandId } = await sent();
    d.runner.finish(commandId, NODE, { status: 'TimedOut', exitCode: -1, stdout: '', stderr: '' });
    expect(await completeInvocation(commandId, NODE, d)).toBe('timed-out');
    expect(d.callbacks.failures[0]).toMatchObject({ error: 'CommandTimedOutError' });
  });

  it('fails the task when a successful script printed no result line', async () => {
    const { d, commandId } = await sent();
    d.runner.finish(commandId, NODE, { status: 'Success', exitCode: 0, stdout: 'done', stderr: '' });
    expect(await completeInvocation(commandId, NODE, d)).toBe('failed');
    expect(d.callbacks.failures[0]!.error).toBe('CommandFailedError');
    expect(d.callbacks.failures[0]!.cause).toMatch(/no CARETAKER_RESULT line/);
  });

  it('leaves a running invocation parked', async () => {
    const { d, commandId } = await sent();
    expect(await completeInvocation(commandId, NODE, d)).toBe('still-running');
    expect(d.tokens.items.size).toBe(1);
    expect(d.callbacks.successes).toEqual([]);
  });

  it('reports once when the event and the reconciler both see the same invocation', async () => {
    const { d, commandId } = await sent();
    d.runner.finish(commandId, NODE, {
      status: 'Success',
      exitCode: 0,
      stdout: 'CARETAKER_RESULT {}',
      stderr: '',
    });
    const outcomes = await Promise.all([completeInvocation(commandId, NODE, d), reconcile(d)]);
    expect(d.callbacks.successes).toHaveLength(1);
    expect(outcomes[0]).toBe('succeeded');
  });
});

describe('reconcile', () => {
  it('completes finished invocations whose event never came and times out those past the deadline', async () => {
    const d = deps();
    const a = await sendCommand(request, d);
    const b = await sendCommand({ ...request, taskToken: 'token-2', command: 'etcd-status' }, d);
    d.runner.finish(a.commandId, NODE, {
      status: 'Success',
      exitCode: 0,
      stdout: 'CARETAKER_RESULT {"ok":true}',
      stderr: '',
    });
    d.clock.set('2026-11-25T08:00:00.000Z'); // past etcd-status's deadline (60 s + grace)

    expect(await reconcile(d)).toEqual({ checked: 2, completed: 1, timedOut: 1 });
    expect(d.callbacks.successes.map((s) => s.taskToken)).toEqual(['token-1']);
    expect(d.callbacks.failures).toEqual([
      {
        taskToken: 'token-2',
        error: 'CommandTimedOutError',
        cause: expect.stringMatching(/had not finished by its deadline/),
      },
    ]);
    expect(b.commandId).toBeDefined();
    expect(d.tokens.items.size).toBe(0);
  });

  it('leaves a running invocation before its deadline alone', async () => {
    const d = deps();
    await sendCommand(request, d);
    expect(await reconcile(d)).toEqual({ checked: 1, completed: 0, timedOut: 0 });
    expect(d.tokens.items.size).toBe(1);
  });
});
