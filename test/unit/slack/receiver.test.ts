import type { ApprovalRecord } from '../../../functions/shared/domain/approvals';
import { commandBody, pressBody, signedEvent, SIGNING_SECRET, TEAM } from '../../support/slack';
import { ARNS, NOW_SECONDS, startWorld, type World } from './world';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => w.stop());
beforeEach(() => {
  w.started.length = 0;
  w.logs.length = 0;
  w.slack.calls.length = 0;
  w.now.seconds = NOW_SECONDS;
});

let trigger = 0;
const command = (text: string, over: Record<string, string> = {}, options: { retry?: number } = {}) =>
  signedEvent(commandBody(text, { trigger_id: `1000.2000.a${++trigger}`, ...over }), {
    at: NOW_SECONDS,
    ...options,
  });

describe('the Slack receiver: requests', () => {
  it('starts a backup from /caretaker backup prod-eu, answering with the execution name', async () => {
    const out = await w.send(command('backup prod-eu'));

    expect(out.statusCode).toBe(200);
    expect(w.started).toEqual([
      {
        stateMachineArn: ARNS['etcd-backup'],
        name: `etcd-backup-prod-eu-20251130T105320Z-1000_2000_a${trigger}`,
        input: { cluster: 'prod-eu', requestedBy: 'slack:U0ALICE', requestId: `1000.2000.a${trigger}` },
      },
    ]);
    expect(out.text).toBe(
      `Started etcd-backup on prod-eu: \`${w.started[0]!.name}\`. The outcome will be posted in <#C0PRODEU>.`,
    );
    expect(w.logs).toContainEqual(
      expect.objectContaining({
        message: 'slack command',
        fields: expect.objectContaining({
          user: 'U0ALICE',
          verb: 'backup',
          cluster: 'prod-eu',
          allowed: true,
        }),
      }),
    );
  });

  it('never starts twice when Slack retries (X-Slack-Retry-Num), even with a later timestamp', async () => {
    const body = commandBody('backup prod-eu', { trigger_id: '1000.2000.bad0' });
    const first = await w.send(signedEvent(body, { at: NOW_SECONDS }));
    w.now.seconds += 4;
    const retry = await w.send(signedEvent(body, { at: NOW_SECONDS + 4, retry: 1 }));

    expect(first.text).toMatch(/^Started/);
    expect(retry.text).toBe(`Already started: \`${w.started[0]!.name}\` (this request came again).`);
    expect(w.started).toHaveLength(1);
  });

  it('takes restore-verify with the same argument rules', async () => {
    await w.send(command('restore-verify prod-eu'));
    expect(w.started[0]).toMatchObject({ stateMachineArn: ARNS['restore-verify'] });
  });

  it('lets a member of an allowed user group start, asking Slack for the membership', async () => {
    w.slack.groups['S0SRE'] = ['U0CAROL'];

    const out = await w.send(command('backup prod-eu', { user_id: 'U0CAROL' }));

    expect(out.text).toMatch(/^Started/);
    expect(w.slack.callsTo('usergroups.users.list')).toEqual([
      expect.objectContaining({
        params: expect.objectContaining({ usergroup: 'S0SRE' }),
        token: expect.stringMatching(/^xoxb-/),
      }),
    ]);
  });

  it('refuses a user not allowed the verb on the cluster, naming what is missing, and starts nothing', async () => {
    const out = await w.send(command('backup prod-eu', { user_id: 'U0MALLORY' }));

    expect(out.text).toBe(
      'you may not backup on prod-eu: <@U0MALLORY> is not in slack.allow.backup (or "*") of prod-eu, nor in a user group listed there',
    );
    expect(w.started).toEqual([]);
  });

  it('refuses a verb nobody may run on a cluster', async () => {
    const out = await w.send(command('backup quiet'));
    expect(out.text).toBe('you may not backup on quiet: nobody may (slack.allow.backup of quiet is not set)');
    expect(w.started).toEqual([]);
  });

  it('allows every verb where the cluster lists the user under "*"', async () => {
    const out = await w.send(command('backup lab'));
    expect(out.text).toMatch(/^Started etcd-backup on lab/);
  });

  it("refuses another workspace's request and a channel that is not configured", async () => {
    const team = await w.send(command('backup prod-eu', { team_id: 'T0OTHER' }));
    const channel = await w.send(command('backup prod-eu', { channel_id: 'C0RANDOM' }));

    expect(team.text).toBe(
      'you may not use Caretaker from this workspace (T0OTHER): it answers workspace T0CARETAKER only',
    );
    expect(channel.text).toBe(
      'you may not use Caretaker in this channel: it takes commands in <#C0OPS>, <#C0OTHER>',
    );
    expect(w.started).toEqual([]);
  });

  it.each([
    ['an unknown verb', 'reboot prod-eu', 'unknown command "reboot"'],
    ['a missing cluster', 'backup', 'backup: missing <cluster>'],
    ['an extra argument', 'backup prod-eu now', 'backup: unexpected argument "now"'],
    ['an unknown flag', 'backup prod-eu --force', "backup: Unknown option '--force'"],
  ])('answers %s with the usage line, starting nothing', async (_name, text, message) => {
    const out = await w.send(command(text));

    expect(out.text).toContain(message);
    expect(out.text).toContain(
      'Usage: /caretaker help | status [cluster] | history [cluster] | backup <cluster>',
    );
    expect(w.started).toEqual([]);
  });

  it('answers a cluster that is not configured', async () => {
    const out = await w.send(command('backup nope'));
    expect(out.text).toBe('There is no cluster "nope" here (have: prod-eu, lab, quiet).');
  });

  it.each(['patch prod-eu --dry-run', 'upgrade prod-eu 1.35'])(
    'answers "%s" with not available yet: in the registry now, but not deployed in this stack',
    async (text) => {
      const out = await w.send(command(text));
      expect(out.text).toMatch(
        /^`(patch|upgrade)` is not available yet in this Caretaker \(not deployed here\)\.$/,
      );
      expect(w.started).toEqual([]);
    },
  );

  it('answers a registry verb this deployment does not deploy with not available yet, before any authorization', async () => {
    const restoreVerify = w.deps.stateMachines['restore-verify']!;
    delete w.deps.stateMachines['restore-verify'];
    try {
      const out = await w.send(command('restore-verify quiet'));
      expect(out.text).toBe('`restore-verify` is not available yet in this Caretaker (not deployed here).');
      expect(w.started).toEqual([]);
    } finally {
      w.deps.stateMachines['restore-verify'] = restoreVerify;
    }
  });

  it('answers help with the usage line', async () => {
    const out = await w.send(command('help'));
    expect(out.text).toMatch(/^Usage: \/caretaker help \| status \[cluster\]/);
    expect(out.text).toContain(
      'patch <cluster> [--dry-run] [--now] [--kubernetes-version VERSION] | upgrade <cluster> <version> [--dry-run] | patch-control-plane <cluster> [--dry-run]',
    );
  });

  it('undoes Slack smart punctuation in flags (— for --)', async () => {
    const out = await w.send(command('backup prod-eu —force'));
    expect(out.text).toContain("Unknown option '--force'");
  });

  it('answers status and history from the executions of the clusters the user may read', async () => {
    w.history.push({
      name: 'etcd-backup-prod-eu-20251130T100000Z',
      executionArn: `${ARNS['etcd-backup'].replace(':stateMachine:', ':execution:')}:etcd-backup-prod-eu-20251130T100000Z`,
      status: 'SUCCEEDED',
      startDate: new Date('2025-11-30T10:00:00Z'),
    });

    const status = await w.send(command('status prod-eu'));
    const all = await w.send(command('history'));
    const refused = await w.send(command('status prod-eu', { user_id: 'U0MALLORY' }));

    expect(status.text).toBe(
      '*prod-eu*\n  etcd-backup: SUCCEEDED · started 2025-11-30T10:00:00.000Z · `etcd-backup-prod-eu-20251130T100000Z`',
    );
    // alice reads prod-eu and lab ("*"), not quiet
    expect(all.text).toContain('*prod-eu*');
    expect(all.text).toContain('*lab*\n  no executions yet');
    expect(all.text).not.toContain('quiet');
    expect(refused.text).toMatch(/^you may not status on prod-eu/);
  });
});

describe('the Slack receiver: rejections', () => {
  const rejects = async (event: ReturnType<typeof signedEvent>) => {
    const out = await w.send(event);
    expect(out).toEqual({ statusCode: 401, body: 'unauthorized' });
    expect(w.started).toEqual([]);
    const line = JSON.stringify(w.logs);
    expect(line).toContain('slack request rejected');
    expect(line).not.toContain('backup prod-eu');
    expect(line).not.toContain('U0ALICE');
  };

  it('rejects a forged request (another secret) with 401, logging no body', async () => {
    await rejects(
      signedEvent(commandBody('backup prod-eu'), { at: NOW_SECONDS, secret: 'forged-secret-000000' }),
    );
  });

  it('rejects a replayed request six minutes later', async () => {
    w.now.seconds += 360;
    await rejects(signedEvent(commandBody('backup prod-eu'), { at: NOW_SECONDS }));
  });

  it('rejects a request whose body was changed after signing', async () => {
    const event = signedEvent(commandBody('status prod-eu'), { at: NOW_SECONDS });
    event.body = commandBody('backup prod-eu');
    await rejects(event);
  });

  it('rejects a request without signature headers', async () => {
    const event = signedEvent(commandBody('backup prod-eu'), { at: NOW_SECONDS });
    delete event.headers['x-slack-signature'];
    await rejects(event);
  });

  it('accepts a base64-encoded body, as function URLs may deliver it', async () => {
    const out = await w.send(
      signedEvent(commandBody('backup prod-eu', { trigger_id: '1000.2000.b64' }), {
        at: NOW_SECONDS,
        base64: true,
      }),
    );
    expect(out.text).toMatch(/^Started/);
  });

  it('answers a failure behind the receiver (DynamoDB down) with a generic message, starting nothing', async () => {
    const ledger = w.deps.ledger;
    w.deps.ledger = {
      remember: async () => {
        throw Object.assign(new Error('connect ECONNREFUSED'), { name: 'TransientError' });
      },
    };
    try {
      const out = await w.send(command('backup prod-eu'));
      expect(out.text).toBe(
        'Caretaker could not do that just now; nothing was started. Try again, or use the caretaker CLI.',
      );
      expect(w.started).toEqual([]);
      expect(w.logs).toContainEqual(
        expect.objectContaining({
          message: 'slack request failed',
          fields: expect.objectContaining({ error: 'TransientError' }),
        }),
      );
    } finally {
      w.deps.ledger = ledger;
    }
  });

  it('rejects an event that is not a function URL request', async () => {
    const out = await w.send({ nonsense: true } as never);
    expect(out).toEqual({ statusCode: 401, body: 'unauthorized' });
  });
});

describe('the Slack receiver: approval buttons', () => {
  let n = 0;
  async function gate(over: Partial<ApprovalRecord> = {}) {
    const { token, settled } = w.broker.issue();
    const record: ApprovalRecord = {
      approvalId: `apr-buttonTest${++n}AAAAAAAAAAAA`,
      taskToken: token,
      executionId: `arn:aws:states:eu-west-1:123456789012:execution:caretaker-x:gate-${n}`,
      cluster: 'prod-eu',
      workflow: 'upgrade-control-plane',
      requestedBy: 'slack:U0ALICE',
      summary: 'upgrade prod-eu to 1.37.2',
      requestedAt: new Date(NOW_SECONDS * 1000 - 60_000).toISOString(),
      expiresAt: new Date(NOW_SECONDS * 1000 + 3_600_000).toISOString(),
      status: 'pending',
      ...over,
    };
    await w.deps.approvals.put(record);
    const posted = await w.deps.messenger!.ask(record);
    await w.deps.approvals.setMessage(record.approvalId, posted!);
    settled.catch(() => undefined);
    return { record, settled, posted: posted! };
  }
  const press = (id: string, action: 'caretaker_approve' | 'caretaker_deny', user = 'U0BOB', team = TEAM) =>
    w.send(signedEvent(pressBody(id, action, user, team), { at: NOW_SECONDS }));

  it('posts the approval with buttons that carry only the approval id', async () => {
    const { record } = await gate();
    const [post] = w.slack.callsTo('chat.postMessage');
    const text = JSON.stringify(post!.params);

    expect(post!.params.channel).toBe('C0PRODEU');
    expect(text).toContain(record.approvalId);
    expect(text).not.toContain(record.taskToken);
  });

  it('approves on a press by an allowed approver, completes the task and updates the message with who decided', async () => {
    const { record, settled, posted } = await gate();

    const out = await press(record.approvalId, 'caretaker_approve');

    expect(out.statusCode).toBe(200);
    await expect(settled).resolves.toMatchObject({
      approvalId: record.approvalId,
      decision: 'approved',
      by: 'slack:U0BOB',
    });
    const [update] = w.slack.callsTo('chat.update');
    expect(update!.params).toMatchObject({ channel: 'C0PRODEU', ts: posted.ts });
    expect(String(update!.params.text)).toBe('Approved: upgrade-control-plane on prod-eu by slack:U0BOB');
    expect(JSON.stringify(update!.params.blocks)).toContain('*Approved* by <@U0BOB>');
    expect(JSON.stringify(update!.params.blocks)).not.toContain('caretaker_approve');
  });

  it('denies on a Deny press with ApprovalDeniedError naming who', async () => {
    const { record, settled } = await gate();
    await press(record.approvalId, 'caretaker_deny');
    await expect(settled).rejects.toMatchObject({
      name: 'ApprovalDeniedError',
      message: expect.stringContaining('denied by slack:U0BOB'),
    });
  });

  it('answers a second press with who decided first, and changes nothing', async () => {
    const { record } = await gate();
    await press(record.approvalId, 'caretaker_approve');
    w.slack.calls.length = 0;

    await press(record.approvalId, 'caretaker_deny');

    expect(w.slack.callsTo('chat.update')).toEqual([]);
    expect(w.slack.callsTo('chat.postEphemeral')).toEqual([
      expect.objectContaining({
        params: expect.objectContaining({
          user: 'U0BOB',
          text: expect.stringMatching(/already approved by slack:U0BOB/),
        }),
      }),
    ]);
    expect(await w.deps.approvals.get(record.approvalId)).toMatchObject({ status: 'approved' });
  });

  it('stays quiet when Slack delivers a press again (X-Slack-Retry-Num) that already decided', async () => {
    const { record, settled } = await gate();
    const body = pressBody(record.approvalId, 'caretaker_approve');
    await w.send(signedEvent(body, { at: NOW_SECONDS }));
    await expect(settled).resolves.toMatchObject({ decision: 'approved' });
    w.slack.calls.length = 0;

    const again = await w.send(signedEvent(body, { at: NOW_SECONDS + 3, retry: 1 }));

    expect(again.statusCode).toBe(200);
    expect(w.slack.calls).toEqual([]);
  });

  it('answers a press after the timeout, and changes nothing', async () => {
    const { record } = await gate({ expiresAt: new Date(NOW_SECONDS * 1000 - 1000).toISOString() });
    await press(record.approvalId, 'caretaker_approve');
    expect(String(w.slack.callsTo('chat.postEphemeral')[0]!.params.text)).toMatch(/expired at/);
    expect(await w.deps.approvals.get(record.approvalId)).toMatchObject({ status: 'pending' });
  });

  it("answers a press from another workspace's message, and changes nothing", async () => {
    const { record } = await gate();
    const out = await press(record.approvalId, 'caretaker_approve', 'U0BOB', 'T0OTHER');
    expect(out.text).toMatch(/you may not decide Caretaker approvals from this workspace \(T0OTHER\)/);
    expect(await w.deps.approvals.get(record.approvalId)).toMatchObject({ status: 'pending' });
  });

  it('refuses the requester approving their own run, and someone without the approve permission', async () => {
    const { record } = await gate();
    await press(record.approvalId, 'caretaker_approve', 'U0ALICE');
    await press(record.approvalId, 'caretaker_approve', 'U0MALLORY');

    const texts = w.slack.callsTo('chat.postEphemeral').map((c) => String(c.params.text));
    expect(texts[0]).toMatch(/you may not approve on prod-eu: <@U0ALICE> is not in slack.allow.approve/);
    expect(texts[1]).toMatch(/you may not approve on prod-eu: <@U0MALLORY>/);
    expect(await w.deps.approvals.get(record.approvalId)).toMatchObject({ status: 'pending' });
  });

  it('lets the requester deny their own run', async () => {
    const { record, settled } = await gate();
    await press(record.approvalId, 'caretaker_deny', 'U0ALICE');
    await expect(settled).rejects.toMatchObject({ name: 'ApprovalDeniedError' });
  });

  it('answers a press on an unknown approval', async () => {
    await press('apr-doesNotExist000000000', 'caretaker_approve');
    expect(String(w.slack.callsTo('chat.postEphemeral')[0]!.params.text)).toMatch(/not known/);
  });

  it('keeps the decision when Slack fails to update the message', async () => {
    const { record, settled } = await gate();
    w.slack.fail('chat.update', 1, { status: 500 });
    await press(record.approvalId, 'caretaker_approve');
    await expect(settled).resolves.toMatchObject({ decision: 'approved' });
    expect(JSON.stringify(w.logs)).toContain('approval-message-not-updated');
  });

  it('uses the signing secret only to verify: it is in no log line and no Slack call', async () => {
    await w.send(command('backup prod-eu'));
    expect(JSON.stringify(w.logs)).not.toContain(SIGNING_SECRET);
    expect(JSON.stringify(w.slack.calls)).not.toContain(SIGNING_SECRET);
  });
});
