/**
 * The receiver's lean Slack client (slackFormApi) against the loopback Slack stand-in: the same
 * calls on the wire as the official client (@slack/web-api), the official client's error codes,
 * and its retries.
 */
import {
  SlackApiError,
  slackFormApi,
  slackFormBody,
} from '../../../functions/shared/adapters/slack/form-api';
import { slackWebApi } from '../../../functions/shared/adapters/slack/web-api';
import { approvalMessage } from '../../../functions/shared/domain/slack-messages';
import type { SlackApi } from '../../../functions/shared/ports';
import { startSlackStandIn, type SlackStandIn } from '../../../sandbox/slack-api';
import { BOT_TOKEN, CHANNEL } from '../../support/slack';

let slack: SlackStandIn;
beforeAll(async () => {
  slack = await startSlackStandIn();
});
afterAll(async () => slack.stop());
beforeEach(() => {
  slack.calls.length = 0;
});

const blocks = approvalMessage({
  approvalId: 'a'.repeat(32),
  cluster: 'prod-eu',
  workflow: 'upgrade-control-plane',
  summary: 'Upgrade prod-eu from v1.36.0 to v1.37.2 — “quoted” & <escaped>',
  requestedBy: 'slack:U0ALICE',
  expiresAt: '2026-11-30T18:00:00.000Z',
  executionId: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-upgrade-control-plane:run-1',
  requestedAt: '2026-11-30T17:00:00.000Z',
  status: 'pending',
}).blocks;

/** every SlackApi method once, with blocks and unicode */
async function exercise(api: SlackApi) {
  slack.groups['S0OPS'] = ['U0ALICE', 'U0BOB'];
  const posted = await api.postMessage({ channel: CHANNEL, text: 'approve? ✅', blocks });
  await api.update({ channel: CHANNEL, ts: posted.ts, text: 'approved by <@U0BOB>', blocks });
  await api.postEphemeral({ channel: CHANNEL, user: 'U0BOB', text: 'only you see this: ü' });
  const members = await api.groupMembers('S0OPS');
  return { posted, members };
}

describe('slackFormApi', () => {
  it('makes the same calls on the wire as the official client, with the bot token', async () => {
    const official = await exercise(
      slackWebApi({ token: async () => BOT_TOKEN, apiUrl: slack.url, retries: 0 }),
    );
    const officialCalls = slack.calls.splice(0);

    const lean = await exercise(
      slackFormApi({ token: async () => BOT_TOKEN, apiUrl: slack.url, retries: 0 }),
    );

    expect(slack.calls.map((c) => c.method)).toEqual([
      'chat.postMessage',
      'chat.update',
      'chat.postEphemeral',
      'usergroups.users.list',
    ]);
    // the stand-in numbers each message: the update names the one this client posted
    expect(slack.calls).toEqual(
      officialCalls.map((c) =>
        c.method === 'chat.update' ? { ...c, params: { ...c.params, ts: lean.posted.ts } } : c,
      ),
    );
    expect(slack.calls.every((c) => c.token === BOT_TOKEN)).toBe(true);
    expect(lean.members).toEqual(official.members);
    expect(lean.members).toEqual(['U0ALICE', 'U0BOB']);
    expect(lean.posted.channel).toBe(CHANNEL);
  });

  it('asks for the token once, on first use', async () => {
    const token = jest.fn(async () => BOT_TOKEN);
    const api = slackFormApi({ token, apiUrl: slack.url, retries: 0 });
    expect(token).not.toHaveBeenCalled();
    await api.postEphemeral({ channel: CHANNEL, user: 'U0BOB', text: 'one' });
    await api.postEphemeral({ channel: CHANNEL, user: 'U0BOB', text: 'two' });
    expect(token).toHaveBeenCalledTimes(1);
  });

  it('throws the official platform error when Slack answers ok:false, and does not retry it', async () => {
    const api = slackFormApi({ token: async () => BOT_TOKEN, apiUrl: slack.url, retries: 2 });
    slack.fail('chat.update', 1, { error: 'message_not_found' });

    const e = (await api
      .update({ channel: CHANNEL, ts: '1.2', text: 'x' })
      .catch((x: unknown) => x)) as SlackApiError;

    expect(e).toBeInstanceOf(SlackApiError);
    expect(e.code).toBe('slack_webapi_platform_error');
    expect(e.data).toEqual({ ok: false, error: 'message_not_found' });
    expect(e.message).toBe('An API error occurred: message_not_found');
    expect(slack.callsTo('chat.update')).toHaveLength(1);
    await expect(
      slackFormApi({ token: async () => BOT_TOKEN, apiUrl: slack.url }).groupMembers('S0NONE'),
    ).rejects.toMatchObject({
      code: 'slack_webapi_platform_error',
      data: { error: 'no_such_subteam' },
    });
  });

  it('retries 5xx and 429 with growing waits, then succeeds', async () => {
    const sleeps: number[] = [];
    const api = slackFormApi({
      token: async () => BOT_TOKEN,
      apiUrl: slack.url,
      retries: 2,
      sleep: async (ms) => void sleeps.push(ms),
    });
    slack.fail('chat.postEphemeral', 1, { status: 503 });
    slack.fail('chat.postEphemeral', 1, { status: 429, error: 'ratelimited' });

    await api.postEphemeral({ channel: CHANNEL, user: 'U0BOB', text: 'third time' });

    expect(slack.callsTo('chat.postEphemeral')).toHaveLength(3);
    expect(sleeps).toEqual([200, 400]);
  });

  it('gives up after its retries with the HTTP error, and does not retry a 4xx', async () => {
    const api = slackFormApi({
      token: async () => BOT_TOKEN,
      apiUrl: slack.url,
      retries: 1,
      sleep: async () => {},
    });
    slack.fail('chat.postMessage', 2, { status: 500 });
    await expect(api.postMessage({ channel: CHANNEL, text: 'x' })).rejects.toMatchObject({
      code: 'slack_webapi_http_error',
      statusCode: 500,
    });
    expect(slack.callsTo('chat.postMessage')).toHaveLength(2);

    slack.fail('chat.postMessage', 1, { status: 429 });
    slack.fail('chat.postMessage', 1, { status: 429 });
    await expect(api.postMessage({ channel: CHANNEL, text: 'x' })).rejects.toMatchObject({
      code: 'slack_webapi_rate_limited_error',
      statusCode: 429,
    });

    slack.calls.length = 0;
    slack.fail('chat.postMessage', 1, { status: 403 });
    await expect(api.postMessage({ channel: CHANNEL, text: 'x' })).rejects.toMatchObject({ statusCode: 403 });
    expect(slack.callsTo('chat.postMessage')).toHaveLength(1);
  });

  it('waits what Retry-After says, at most 2 s, and names a request that got no answer', async () => {
    const sleeps: number[] = [];
    const answers = [
      new Response('', { status: 429, headers: { 'retry-after': '1' } }),
      new Response('', { status: 429, headers: { 'retry-after': '30' } }),
      new Response(JSON.stringify({ ok: true, users: ['U0A'] }), { status: 200 }),
    ];
    const api = slackFormApi({
      token: async () => BOT_TOKEN,
      retries: 2,
      sleep: async (ms) => void sleeps.push(ms),
      fetch: async () => answers.shift()!,
    });
    await expect(api.groupMembers('S0')).resolves.toEqual(['U0A']);
    expect(sleeps).toEqual([1000, 2000]);

    const down = slackFormApi({
      token: async () => BOT_TOKEN,
      retries: 0,
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
    });
    await expect(down.groupMembers('S0')).rejects.toMatchObject({
      name: 'SlackApiError',
      code: 'slack_webapi_request_error',
      message: 'A request error occurred: fetch failed',
    });
  });

  it('encodes strings as they are and everything else as JSON, leaving out undefined', () => {
    expect(slackFormBody({ a: 'x y&z', b: false, c: [{ d: 1 }], e: undefined })).toBe(
      'a=x+y%26z&b=false&c=%5B%7B%22d%22%3A1%7D%5D',
    );
  });
});
