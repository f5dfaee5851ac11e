import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeHandler } from '../../functions/request-approval/handler';
import { dynamoApprovalStore } from '../../functions/shared/adapters/aws/dynamo-approval-store';
import { parseConfig } from '../../functions/shared/domain/config';
import { ApprovalRefusedError } from '../../functions/shared/domain/approvals';
import { decideApproval } from '../../functions/shared/services/approvals';
import { runDefinition, type Fake, type Json, type RunResult } from '../../sandbox/asl-runner';
import { startDynalite, type LocalDynamo } from '../../sandbox/dynalite';
import { configDirectory, memoryNotifier } from '../../sandbox/local-adapters';
import { TaskBroker } from '../../sandbox/task-broker';
import { lambdaContext } from '../support/lambda-context';

const GATE = readFileSync(join(__dirname, 'fixtures', 'approval-gate.asl.json'), 'utf8');
const FUNCTION_ARN = 'arn:aws:lambda:eu-west-1:123456789012:function:caretaker-request-approval';
const TABLE = 'approvals';

const clusters = configDirectory(
  parseConfig({
    clusters: [
      {
        name: 'prod-eu',
        kind: 'kubeadm',
        region: 'eu-west-1',
        approval: { approvers: ['U0APPROVER', 'S0ONCALL', 'cli:alice'] },
      },
      { name: 'lab', kind: 'kubeadm', region: 'eu-west-1', approval: { allowSelfApproval: true } },
    ],
  }).clusters,
);

let db: LocalDynamo;
const broker = new TaskBroker();

beforeAll(async () => {
  db = await startDynalite();
  await db.createTable(TABLE);
});

afterAll(async () => {
  broker.abandon('the test file ended');
  await db.stop();
});

/**
 * Runs the gate with the real request-approval handler (DynamoDB on dynalite, SNS in memory)
 * and the TaskBroker playing Step Functions' task tokens, as the sandbox does. `requested`
 * resolves with the approval id once the gate recorded it.
 */
function gate(input: Record<string, Json>, options: { timeoutMs?: number; name?: string } = {}) {
  const approvals = dynamoApprovalStore(TABLE, db.doc);
  const notifier = memoryNotifier();
  const handler = makeHandler({ approvals, notifier, clock: { now: () => new Date() } });
  let resolveRequested!: (id: string) => void;
  const requested = new Promise<string>((r) => (resolveRequested = r));
  const ask: Fake = async (payload) => {
    const { token, settled } = broker.issue();
    const out = (await handler({ ...(payload as object), taskToken: token }, lambdaContext())) as {
      approvalId: string;
    };
    resolveRequested(out.approvalId);
    return (await settled) as Json;
  };
  const run = runDefinition('approval-gate', GATE, input, {
    substitutions: { RequestApprovalFunctionArn: FUNCTION_ARN },
    // the target is the substitution until a registry workflow names request-approval
    fakes: { RequestApprovalFunctionArn: ask, 'request-approval': ask },
    executionName: options.name ?? `gate-${Math.random().toString(36).slice(2)}`,
    ...(options.timeoutMs !== undefined && { timeoutMs: { 'Ask for approval': options.timeoutMs } }),
  });
  return { run, requested, approvals, notifier };
}

const input = (over: Record<string, Json> = {}): Record<string, Json> => ({
  cluster: 'prod-eu',
  requestedBy: 'slack:U0REQUESTER',
  plan: { summary: 'upgrade prod-eu from 1.36.4 to 1.37.2, 3 control-plane nodes one at a time' },
  approval: { timeoutSeconds: 3600 },
  ...over,
});

const deps = (approvals: ReturnType<typeof dynamoApprovalStore>, now?: () => Date) => ({
  approvals,
  callbacks: broker,
  clusters,
  clock: { now: now ?? (() => new Date()) },
});

describe('the approval gate in the local runner', () => {
  it('goes ahead when an approver approves, with the decision at $.approval.decision', async () => {
    const g = gate(input());
    const approvalId = await g.requested;

    const decided = await decideApproval(
      { approvalId, decision: 'approve', by: 'slack:U0APPROVER', reason: 'plan looks right' },
      deps(g.approvals),
    );
    const result: RunResult = await g.run;

    expect(decided).toMatchObject({ decision: 'approved', by: 'slack:U0APPROVER', cluster: 'prod-eu' });
    expect(result.status).toBe('SUCCEEDED');
    expect(result.states).toEqual(['Ask for approval', 'Go ahead with the plan']);
    expect((result.output as { approval: unknown }).approval).toEqual({
      timeoutSeconds: 3600,
      decision: {
        approvalId,
        decision: 'approved',
        by: 'slack:U0APPROVER',
        at: decided.at,
        reason: 'plan looks right',
      },
    });
    expect(await g.approvals.get(approvalId)).toMatchObject({
      status: 'approved',
      decidedBy: 'slack:U0APPROVER',
    });
  });

  it('sends the gate the payload of the contract, and never puts the token in a message', async () => {
    const g = gate(input());
    const approvalId = await g.requested;
    await decideApproval({ approvalId, decision: 'approve', by: 'slack:U0APPROVER' }, deps(g.approvals));
    const result = await g.run;

    const [call] = result.calls;
    expect(call!.input).toEqual({
      taskToken: 'fake-task-token',
      executionId: result.executionId,
      cluster: 'prod-eu',
      workflow: 'upgrade-control-plane',
      requestedBy: 'slack:U0REQUESTER',
      summary: 'upgrade prod-eu from 1.36.4 to 1.37.2, 3 control-plane nodes one at a time',
      timeoutSeconds: 3600,
    });
    const [sent] = g.notifier.messages;
    expect(sent!.subject).toBe('[Caretaker] approval needed: upgrade-control-plane on prod-eu');
    expect(sent!.message).toContain(`caretaker approve ${result.executionId}`);
    expect(sent!.message).toContain(approvalId);
    expect(sent!.message).not.toMatch(/sandbox-token|fake-task-token/);
    expect(approvalId).toMatch(/^apr-[A-Za-z0-9_-]{22}$/);
  });

  it('takes the deny path with ApprovalDeniedError naming who and why', async () => {
    const g = gate(input());
    const approvalId = await g.requested;

    await decideApproval(
      { approvalId, decision: 'deny', by: 'slack:U0APPROVER', reason: 'freeze week' },
      deps(g.approvals),
    );
    const result = await g.run;

    expect(result.status).toBe('SUCCEEDED');
    expect(result.states).toEqual(['Ask for approval', 'Stop: the plan was denied']);
    const output = result.output as { error: { Error: string; Cause: string }; ended: string };
    expect(output.error.Error).toBe('ApprovalDeniedError');
    expect(output.error.Cause).toMatch(/denied by slack:U0APPROVER at .*: freeze week/);
  });

  it('lets the requester deny their own run (stopping is always allowed)', async () => {
    const g = gate(input());
    const approvalId = await g.requested;
    await decideApproval(
      { approvalId, decision: 'deny', by: 'slack:U0REQUESTER', reason: 'wrong version' },
      deps(g.approvals),
    );
    expect((await g.run).states).toContain('Stop: the plan was denied');
  });

  it('takes the timed-out path when nobody decides, and refuses a press after the deadline', async () => {
    const g = gate(input(), { timeoutMs: 300 });
    const approvalId = await g.requested;
    const result = await g.run;

    expect(result.states).toEqual(['Ask for approval', 'Stop: nobody decided in time']);
    expect((result.output as { error: { Error: string } }).error.Error).toBe('States.Timeout');
    const late = () => new Date(Date.now() + 3601_000);
    await expect(
      decideApproval({ approvalId, decision: 'approve', by: 'slack:U0APPROVER' }, deps(g.approvals, late)),
    ).rejects.toMatchObject({ name: 'ApprovalRefusedError', refusal: 'expired' });
    expect(await g.approvals.get(approvalId)).toMatchObject({ status: 'pending' });
  });

  it('rejects a second decision, naming the first, and changes nothing', async () => {
    const g = gate(input());
    const approvalId = await g.requested;
    await decideApproval({ approvalId, decision: 'approve', by: 'slack:U0APPROVER' }, deps(g.approvals));
    await g.run;

    const second = decideApproval(
      { approvalId, decision: 'deny', by: 'slack:U0APPROVER', reason: 'changed my mind' },
      deps(g.approvals),
    );

    await expect(second).rejects.toThrow(/already approved by slack:U0APPROVER/);
    await expect(second).rejects.toMatchObject({ refusal: 'already-decided' });
    expect(await g.approvals.get(approvalId)).toMatchObject({
      status: 'approved',
      decidedBy: 'slack:U0APPROVER',
    });
  });

  it('lets exactly one of two simultaneous presses win', async () => {
    const g = gate(input());
    const approvalId = await g.requested;
    const both = await Promise.allSettled([
      decideApproval({ approvalId, decision: 'approve', by: 'slack:U0APPROVER' }, deps(g.approvals)),
      decideApproval(
        { approvalId, decision: 'deny', by: 'slack:U0APPROVER', reason: 'x' },
        deps(g.approvals),
      ),
    ]);
    await g.run;
    expect(both.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(both.filter((r) => r.status === 'rejected')).toHaveLength(1);
  });

  it('refuses self-approval by default and keeps waiting', async () => {
    const g = gate(input());
    const approvalId = await g.requested;

    await expect(
      decideApproval({ approvalId, decision: 'approve', by: 'slack:U0REQUESTER' }, deps(g.approvals)),
    ).rejects.toMatchObject({ refusal: 'self-approval' });
    expect(await g.approvals.get(approvalId)).toMatchObject({ status: 'pending' });

    await decideApproval({ approvalId, decision: 'approve', by: 'slack:U0APPROVER' }, deps(g.approvals));
    expect((await g.run).status).toBe('SUCCEEDED');
  });

  it('allows self-approval where the cluster says so', async () => {
    const g = gate(input({ cluster: 'lab' }));
    const approvalId = await g.requested;
    await decideApproval({ approvalId, decision: 'approve', by: 'slack:U0REQUESTER' }, deps(g.approvals));
    expect((await g.run).states).toContain('Go ahead with the plan');
  });

  it('refuses someone who is not in approval.approvers, and accepts a member of a listed group', async () => {
    const g = gate(input());
    const approvalId = await g.requested;

    await expect(
      decideApproval({ approvalId, decision: 'approve', by: 'slack:U0STRANGER' }, deps(g.approvals)),
    ).rejects.toThrow(
      'slack:U0STRANGER may not approve upgrade-control-plane on prod-eu: not in approval.approvers',
    );

    await decideApproval(
      { approvalId, decision: 'approve', by: 'slack:U0ONCALL', groups: ['S0ONCALL'] },
      deps(g.approvals),
    );
    expect((await g.run).status).toBe('SUCCEEDED');
  });

  it('decides by execution as the CLI does', async () => {
    const g = gate(input(), { name: 'upgrade-control-plane-prod-eu-20261130T130000Z-cli' });
    const approvalId = await g.requested;
    const executionId =
      'arn:aws:states:eu-west-1:123456789012:execution:caretaker-approval-gate:upgrade-control-plane-prod-eu-20261130T130000Z-cli';

    const decided = await decideApproval(
      { executionId, decision: 'approve', by: 'cli:alice' },
      deps(g.approvals),
    );

    expect(decided.approvalId).toBe(approvalId);
    expect((await g.run).status).toBe('SUCCEEDED');
  });

  it('rejects an unknown approval id or execution and changes nothing', async () => {
    const approvals = dynamoApprovalStore(TABLE, db.doc);
    const unknownId = decideApproval(
      { approvalId: 'apr-AAAAAAAAAAAAAAAAAAAAAA', decision: 'approve', by: 'slack:U0APPROVER' },
      deps(approvals),
    );
    await expect(unknownId).rejects.toBeInstanceOf(ApprovalRefusedError);
    await expect(unknownId).rejects.toThrow('no approval is known for approval apr-AAAAAAAAAAAAAAAAAAAAAA');
    await expect(
      decideApproval({ executionId: 'arn:nope', decision: 'deny', by: 'cli:x' }, deps(approvals)),
    ).rejects.toMatchObject({ refusal: 'unknown' });
  });

  it('asks once when the gate Lambda is invoked twice with the same token', async () => {
    const approvals = dynamoApprovalStore(TABLE, db.doc);
    const notifier = memoryNotifier();
    const handler = makeHandler({ approvals, notifier, clock: { now: () => new Date() } });
    const payload = {
      taskToken: 'token-retried',
      executionId: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-x:retried',
      cluster: 'prod-eu',
      workflow: 'upgrade-control-plane',
      requestedBy: 'cli',
      summary: 'plan',
      timeoutSeconds: 600,
    };
    const first = (await handler(payload, lambdaContext())) as { approvalId: string };
    const second = (await handler(payload, lambdaContext())) as { approvalId: string; repeated: boolean };

    expect(second).toMatchObject({ approvalId: first.approvalId, repeated: true });
    expect(notifier.messages).toHaveLength(1);
  });

  it('still waits, with the SNS message sent, when Slack cannot post the buttons', async () => {
    const approvals = dynamoApprovalStore(TABLE, db.doc);
    const notifier = memoryNotifier();
    const audit = jest.fn();
    const handler = makeHandler({
      approvals,
      notifier,
      clock: { now: () => new Date() },
      audit,
      messenger: {
        ask: async () => {
          throw Object.assign(new Error('slack is down'), { name: 'SlackDown' });
        },
        decided: async () => undefined,
      },
    });

    const out = (await handler(
      {
        taskToken: 'token-slack-down',
        executionId: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-x:slack-down',
        cluster: 'prod-eu',
        workflow: 'upgrade-control-plane',
        requestedBy: 'cli',
        summary: 'plan',
        timeoutSeconds: 600,
      },
      lambdaContext(),
    )) as { approvalId: string };

    expect(await approvals.get(out.approvalId)).toMatchObject({ status: 'pending' });
    expect(notifier.messages).toHaveLength(1);
    expect(audit).toHaveBeenCalledWith({
      event: 'approval-message-not-posted',
      approvalId: out.approvalId,
      error: 'SlackDown',
    });
  });

  it('rejects a gate payload with a bad field before recording anything', async () => {
    const approvals = dynamoApprovalStore(TABLE, db.doc);
    const notifier = memoryNotifier();
    const handler = makeHandler({ approvals, notifier, clock: { now: () => new Date() } });
    await expect(
      handler(
        {
          taskToken: 't',
          executionId: 'arn:x',
          cluster: 'prod-eu',
          workflow: 'upgrade-control-plane',
          requestedBy: 'cli',
          summary: 'plan',
          timeoutSeconds: 5,
        },
        lambdaContext(),
      ),
    ).rejects.toThrow(/timeoutSeconds/);
    expect(notifier.messages).toHaveLength(0);
  });
});
