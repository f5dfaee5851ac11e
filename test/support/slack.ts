/**
 * Requests signed as Slack signs them (v0 HMAC over the raw body), shaped as a Lambda function
 * URL delivers them, for the receiver's tests, the fuzzing and the sandbox.
 */
import { signSlackRequest } from '../../functions/shared/domain/slack-signature';

export const SIGNING_SECRET = 'caretaker-test-signing-secret-0123456789';
export const BOT_TOKEN = 'xoxb-0000000000-caretaker-test-token';
export const TEAM = 'T0CARETAKER';
export const CHANNEL = 'C0OPS';

export interface FunctionUrlEvent {
  headers: Record<string, string>;
  body?: string;
  isBase64Encoded: boolean;
  requestContext: { http: { method: string } };
}

/** a function URL event whose body Slack signed at `at` (seconds) with `secret` */
export function signedEvent(
  body: string,
  options: {
    at: number;
    secret?: string;
    base64?: boolean;
    retry?: number;
    headers?: Record<string, string>;
  },
): FunctionUrlEvent {
  const signature = signSlackRequest(options.secret ?? SIGNING_SECRET, options.at, body);
  return {
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(options.at),
      'x-slack-signature': signature,
      ...(options.retry !== undefined && {
        'x-slack-retry-num': String(options.retry),
        'x-slack-retry-reason': 'http_timeout',
      }),
      ...options.headers,
    },
    body: options.base64 ? Buffer.from(body).toString('base64') : body,
    isBase64Encoded: options.base64 ?? false,
    requestContext: { http: { method: 'POST' } },
  };
}

/** a slash command's form body, as Slack posts it */
export function commandBody(text: string, over: Record<string, string> = {}): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: TEAM,
    team_domain: 'caretaker',
    channel_id: CHANNEL,
    channel_name: 'ops',
    user_id: 'U0ALICE',
    user_name: 'alice',
    command: '/caretaker',
    text,
    api_app_id: 'A0CARETAKER',
    response_url: 'https://hooks.slack.com/commands/T0CARETAKER/1/abc',
    trigger_id: '398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c',
    ...over,
  }).toString();
}

/** a button press (block_actions) on an approval message */
export function pressBody(
  approvalId: string,
  action: 'caretaker_approve' | 'caretaker_deny',
  user = 'U0BOB',
  team = TEAM,
): string {
  return new URLSearchParams({
    payload: JSON.stringify({
      type: 'block_actions',
      team: { id: team, domain: 'caretaker' },
      user: { id: user, username: user.toLowerCase(), team_id: team },
      api_app_id: 'A0CARETAKER',
      channel: { id: CHANNEL, name: 'ops' },
      message: { ts: '1700000001.000100', type: 'message' },
      trigger_id: '398738663015.47445629121.0000000000000000000000000000000',
      response_url: 'https://hooks.slack.com/actions/T0CARETAKER/1/abc',
      actions: [
        {
          type: 'button',
          action_id: action,
          block_id: 'caretaker_approval',
          value: approvalId,
          action_ts: '1700000002.000000',
        },
      ],
    }),
  }).toString();
}
