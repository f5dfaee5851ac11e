import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  INTENT_SETTLE_SECONDS,
  intentId,
  sendCommand,
  type SendCommandDeps,
} from '../../../functions/send-command/service';
import { completeInvocation, reconcile } from '../../../functions/shared/services/complete-invocation';
import {
  ClusterNotFoundError,
  InvalidInputError,
  NotForThisKindError,
  TransientError,
} from '../../../functions/shared/errors';
import {
  fakeRunner,
  fixedClock,
  memoryTokens,
  recordingCallbacks,
  staticDirectory,
  staticInventory,
} from '../../support/fakes';

const NODE = 'i-0a1b2c3d4e5f60001';
const backupFixture = JSON.parse(
  readFileSync(join(__dirname, '../../asl/fixtures/etcd-backup.json'), 'utf8'),
) as { snapshot: Record<string, unknown> };
/** what the etcd-snapshot script prints last */
const SNAPSHOT_RESULT = `progress\nCARETAKER_RESULT ${JSON.stringify(backupFixture.snapshot)}\n`;

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
  state: 'Take the snapshot on the picked member',
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
        comment: expect.stringMatching(/^caretaker etcd-snapshot prod-eu ci-[0-9a-f]{20}$/),
      },
    ]);
    expect(d.tokens.items.get(`${out.commandId}#${NODE}`)).toEqual({
      commandId: out.commandId,
      instanceId: NODE,
      taskToken: 'token-1',
      cluster: 'prod-eu',
      command: 'etcd-snapshot',
      sentAt: '2026-11-25T06:00:00.000Z',
      // delivery 300 s + the document's 1800 s + grace 120 s
      deadline: '2026-11-25T06:37:00.000Z',
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

  it('rejects an etcd command for an EKS cluster as not for this kind, sending nothing', async () => {
    const d = deps();

    const sent = sendCommand({ ...request, cluster: 'managed' }, d);

    await expect(sent).rejects.toThrow(NotForThisKindError);
    await expect(sendCommand({ ...request, cluster: 'managed' }, d)).rejects.toThrow(
      /etcd-snapshot is not for eks clusters/,
    );
    expect(d.inventory.findManagedInstances).not.toHaveBeenCalled();
    expect(d.runner.sent).toEqual([]);
  });

  it('rejects args the command does not take before any lookup', async () => {
    const d = deps();

    const sent = sendCommand({ ...request, args: { key: 'prod-eu/etcd/x.db' } }, d);

    await expect(sent).rejects.toThrow(/args: Unrecognized key: "key"/);
    expect(d.clusters.get).not.toHaveBeenCalled();
  });

  it('rejects a subject other than the node itself for a command about the node it runs on', async () => {
    const d = deps();

    const sent = sendCommand({ ...request, subject: 'i-0ffffffffffffffff' }, d);

    await expect(sent).rejects.toThrow(/subject: etcd-snapshot is about the node it runs on/);
    expect(d.runner.sent).toEqual([]);
  });
});

describe('sendCommand sends once per execution, state and subject', () => {
  it('does not send again when the Lambda is retried after a successful send and store', async () => {
    const d = deps();
    const first = await sendCommand(request, d);

    const retried = await sendCommand({ ...request, taskToken: 'token-2' }, d);

    expect(d.runner.sent).toHaveLength(1);
    expect(retried).toEqual({ commandId: first.commandId, duplicate: true });
    // the retried Task waits on its own token
    expect(d.tokens.items.get(`${first.commandId}#${NODE}`)?.taskToken).toBe('token-2');
  });

  it('does not send again when recording the send failed, and finds the earlier command', async () => {
    const d = deps();
    const recordSent = d.tokens.recordSent.bind(d.tokens);
    d.tokens.recordSent = jest.fn().mockRejectedValueOnce(new TransientError('DynamoDB UpdateItem: 500'));
    await expect(sendCommand(request, d)).rejects.toThrow(TransientError);
    d.tokens.recordSent = recordSent;

    const retried = await sendCommand({ ...request, taskToken: 'token-2' }, d);

    expect(d.runner.sent).toHaveLength(1);
    expect(retried.duplicate).toBe(true);
    expect(d.tokens.items.get(`${retried.commandId}#${NODE}`)?.taskToken).toBe('token-2');
    expect(d.tokens.intents.get(intentId(request.executionId, request.state, NODE))?.commandId).toBe(
      retried.commandId,
    );
  });

  it('does not send again when parking the token failed after the send', async () => {
    const d = deps();
    const put = d.tokens.put.bind(d.tokens);
    d.tokens.put = jest.fn().mockRejectedValueOnce(new TransientError('DynamoDB PutItem: 500'));
    await expect(sendCommand(request, d)).rejects.toThrow(TransientError);
    d.tokens.put = put;

    await sendCommand({ ...request, taskToken: 'token-2' }, d);

    expect(d.runner.sent).toHaveLength(1);
    expect([...d.tokens.items.values()].map((p) => p.taskToken)).toEqual(['token-2']);
  });

  it('fails a duplicate that arrives while the first attempt is still sending, without sending', async () => {
    const d = deps();
    await d.tokens.claim(
      {
        id: intentId(request.executionId, request.state, NODE),
        executionId: request.executionId,
        state: request.state,
        subject: NODE,
        command: 'etcd-snapshot',
        instanceId: NODE,
        cluster: 'prod-eu',
        claimedAt: '2026-11-25T05:59:30.000Z',
      },
      '2026-11-25T05:00:00.000Z',
    );

    await expect(sendCommand(request, d)).rejects.toThrow(/has not sent it yet; not sending twice/);
    expect(d.runner.sent).toEqual([]);
  });

  it(`sends when an earlier attempt claimed the intent over ${INTENT_SETTLE_SECONDS} s ago and SSM never got it`, async () => {
    const d = deps();
    const id = intentId(request.executionId, request.state, NODE);
    await d.tokens.claim(
      {
        id,
        executionId: request.executionId,
        state: request.state,
        subject: NODE,
        command: 'etcd-snapshot',
        instanceId: NODE,
        cluster: 'prod-eu',
        claimedAt: '2026-11-25T05:50:00.000Z',
      },
      '2026-11-25T05:00:00.000Z',
    );

    const out = await sendCommand(request, d);

    expect(d.runner.sent).toHaveLength(1);
    expect(d.tokens.intents.get(id)?.commandId).toBe(out.commandId);
  });

  it('sends separately to each subject and from each state', async () => {
    const d = deps({
      inventory: staticInventory([{ instanceId: NODE }, { instanceId: 'i-0a1b2c3d4e5f60002' }]),
    });

    await sendCommand(request, d);
    await sendCommand({ ...request, instanceId: 'i-0a1b2c3d4e5f60002' }, d);
    await sendCommand({ ...request, state: 'Take another snapshot' }, d);

    expect(d.runner.sent).toHaveLength(3);
  });

  it('rejects an unknown cluster before recording any intent', async () => {
    const d = deps();
    await expect(sendCommand({ ...request, cluster: 'nope' }, d)).rejects.toThrow(ClusterNotFoundError);
    expect(d.tokens.intents.size).toBe(0);
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
      stdout: SNAPSHOT_RESULT,
      stderr: '',
    });

    expect(await completeInvocation(commandId, NODE, d)).toBe('succeeded');
    expect(d.callbacks.successes).toEqual([
      { taskToken: 'token-1', output: { ...backupFixture.snapshot, instanceId: NODE, commandId } },
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

  it("fails the task when the result does not have the command's shape in the catalog", async () => {
    const { d, commandId } = await sent();
    d.runner.finish(commandId, NODE, {
      status: 'Success',
      exitCode: 0,
      stdout: 'CARETAKER_RESULT {"key":"prod-eu/etcd/x.db"}\n',
      stderr: '',
    });

    expect(await completeInvocation(commandId, NODE, d)).toBe('failed');
    expect(d.callbacks.failures[0]!.error).toBe('CommandFailedError');
    expect(d.callbacks.failures[0]!.cause).toMatch(
      /etcd-snapshot result does not have the command's shape: bucket/,
    );
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
      stdout: SNAPSHOT_RESULT,
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
    const b = await sendCommand(
      {
        ...request,
        taskToken: 'token-2',
        command: 'etcd-status',
        state: 'Ask the member for its etcd status',
      },
      d,
    );
    d.runner.finish(a.commandId, NODE, {
      status: 'Success',
      exitCode: 0,
      stdout: SNAPSHOT_RESULT,
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
