import fc from 'fast-check';
import type { ApprovalRecord } from '../../../functions/shared/domain/approvals';
import { commandBody, signedEvent, TEAM, CHANNEL } from '../../support/slack';
import { NOW_SECONDS, startWorld, type World } from './world';

let w: World;
beforeAll(async () => {
  w = await startWorld();
});
afterAll(async () => w.stop());

/** a field's value gone wrong: missing, wrong type, huge, unicode, padded */
type Corruption = { kind: 'missing' } | { kind: 'value'; value: unknown };

const HUGE = 'x'.repeat(70_000);
const wrongValue = fc.oneof(
  fc.constant<unknown>(''),
  fc.constant<unknown>(HUGE),
  fc.constant<unknown>(null),
  fc.integer(),
  fc.boolean(),
  fc.array(fc.string(), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 5 }), fc.string({ maxLength: 5 }), { maxKeys: 2 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constantFrom<unknown>(
    ' U0ALICE',
    'U0ALICE\n',
    'ＵＯＡＬＩＣＥ',
    '../../etc',
    '<@U0ALICE>',
    'prod-eu; rm -rf /',
  ),
);
const corruption: fc.Arbitrary<Corruption> = fc.oneof(
  fc.constant<Corruption>({ kind: 'missing' }),
  wrongValue.map((value): Corruption => ({ kind: 'value', value })),
);

/** the slash-command fields the receiver reads: corrupting one must start nothing */
const READ_FIELDS = ['team_id', 'channel_id', 'user_id', 'text', 'trigger_id'] as const;

let trigger = 0;
function corruptedCommand(field: string, c: Corruption): string {
  const fields = Object.fromEntries(
    new URLSearchParams(commandBody('backup prod-eu', { trigger_id: `1000.3000.f${++trigger}` })),
  ) as Record<string, string>;
  if (c.kind === 'missing') delete fields[field];
  else fields[field] = typeof c.value === 'string' ? c.value : JSON.stringify(c.value);
  return new URLSearchParams(fields).toString();
}

describe('fuzzing the Slack receiver', () => {
  it('starts nothing and never throws when a read field of a slash command is missing, of the wrong type, huge or unicode', async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom(...READ_FIELDS), corruption, async (field, c) => {
        w.started.length = 0;
        const body = corruptedCommand(field, c);

        const out = await w.send(signedEvent(body, { at: NOW_SECONDS }));

        // a corrupted text or trigger that happens to be valid still names the same request
        const stillValid =
          c.kind === 'value' &&
          ((field === 'text' && c.value === 'backup prod-eu') ||
            (field === 'user_id' && c.value === 'U0ALICE') ||
            (field === 'team_id' && c.value === TEAM) ||
            (field === 'channel_id' && c.value === CHANNEL));
        expect([200, 401]).toContain(out.statusCode);
        if (!stillValid) expect(w.started).toEqual([]);
      }),
      { numRuns: 300 },
    );
  });

  it('answers any body, signed or not, with 200 or 401 and starts nothing it should not', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ unit: 'grapheme', maxLength: 300 }),
          fc.string({ unit: 'binary', maxLength: 300 }),
        ),
        fc.boolean(),
        fc.boolean(),
        async (body, signed, base64) => {
          w.started.length = 0;
          const event = signedEvent(body, { at: NOW_SECONDS, base64 });
          if (!signed) event.headers['x-slack-signature'] = `v0=${'0'.repeat(64)}`;

          const out = await w.send(event);

          expect([200, 401]).toContain(out.statusCode);
          if (!signed) expect(out.statusCode).toBe(401);
          expect(w.started).toEqual([]);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('decides nothing and never throws when a field of a button press is corrupted', async () => {
    const { token, settled } = w.broker.issue();
    let done = false;
    settled.then(
      () => (done = true),
      () => (done = true),
    );
    const record: ApprovalRecord = {
      approvalId: 'apr-fuzzTarget0000000000000',
      taskToken: token,
      executionId: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-x:fuzz',
      cluster: 'prod-eu',
      workflow: 'upgrade-control-plane',
      requestedBy: 'slack:U0ALICE',
      summary: 'plan',
      requestedAt: new Date(NOW_SECONDS * 1000).toISOString(),
      expiresAt: new Date(NOW_SECONDS * 1000 + 3_600_000).toISOString(),
      status: 'pending',
    };
    await w.deps.approvals.put(record);
    const valid = {
      type: 'block_actions',
      team: { id: TEAM },
      user: { id: 'U0BOB' },
      channel: { id: CHANNEL },
      actions: [{ action_id: 'caretaker_approve', value: record.approvalId }],
    };
    const paths: ((p: Record<string, unknown>, v: unknown, missing: boolean) => void)[] = [
      (p, v, m) => (m ? delete p.type : (p.type = v)),
      (p, v, m) => (m ? delete p.team : (p.team = v)),
      (p, v) => (p.team = { id: v }),
      (p, v, m) => (m ? delete p.user : (p.user = v)),
      (p, v) => (p.user = { id: v }),
      (p, v, m) => (m ? delete p.actions : (p.actions = v)),
      (p, v) => (p.actions = [{ action_id: v, value: record.approvalId }]),
      (p, v) => (p.actions = [{ action_id: 'caretaker_approve', value: v }]),
      (p, v) => (p.actions = [valid.actions[0], { action_id: 'caretaker_approve', value: v }]),
    ];

    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: paths.length - 1 }), corruption, async (i, c) => {
        const payload = JSON.parse(JSON.stringify(valid)) as Record<string, unknown>;
        paths[i]!(payload, c.kind === 'value' ? c.value : undefined, c.kind === 'missing');
        const body = new URLSearchParams({ payload: JSON.stringify(payload) }).toString();

        const out = await w.send(signedEvent(body, { at: NOW_SECONDS }));

        expect([200, 401]).toContain(out.statusCode);
      }),
      { numRuns: 300 },
    );

    // no corruption decided the approval (a corrupted user id cannot become an approver)
    expect(await w.deps.approvals.get(record.approvalId)).toMatchObject({ status: 'pending' });
    expect(done).toBe(false);
  });

  it('answers a payload that is not JSON with 200 and no decision', async () => {
    const out = await w.send(signedEvent('payload=%7Bnot-json', { at: NOW_SECONDS }));
    expect(out.statusCode).toBe(200);
  });
});
