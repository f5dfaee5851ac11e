import type { SlackApi } from '../../ports';
import type { SlackWebApiOptions } from './web-api';

/**
 * The four Slack Web API methods the SlackApi port uses, over Node's own fetch, sent exactly as
 * the official client (@slack/web-api) sends them: an `application/x-www-form-urlencoded` POST
 * to `<apiUrl><method>` with the bot token as a Bearer header, nested values (blocks) as JSON
 * strings. A unit test puts both on the same Slack stand-in and compares the recorded calls.
 *
 * Why not the official client here: it and its dependencies (p-queue, p-retry, eventemitter3,
 * @slack/types) are ~63 KB of the receiver's bundle, whose cold start answers Slack's 3-second
 * deadline; the receiver only authorizes (usergroups.users.list), answers (chat.postEphemeral)
 * and updates an approval message (chat.update). The functions that post outcomes and approval
 * requests keep the official client.
 *
 * Errors carry the official client's codes, so logs and callers read the same:
 * `slack_webapi_platform_error` (Slack answered `ok: false`; `data.error` says why),
 * `slack_webapi_rate_limited_error` (429), `slack_webapi_http_error` (another non-200) and
 * `slack_webapi_request_error` (no answer). 429, 5xx and no answer are retried `retries`
 * times (default 2), waiting 200 ms doubling up to 2 s, or Retry-After when Slack sends it
 * (also at most 2 s: the receiver must answer within Slack's 3 seconds).
 */
export class SlackApiError extends Error {
  override readonly name = 'SlackApiError';
  constructor(
    readonly code:
      | 'slack_webapi_platform_error'
      | 'slack_webapi_rate_limited_error'
      | 'slack_webapi_http_error'
      | 'slack_webapi_request_error',
    message: string,
    readonly data?: { ok: false; error: string },
    readonly statusCode?: number,
  ) {
    super(message);
  }
}

const MIN_WAIT_MS = 200;
const MAX_WAIT_MS = 2000;
const DEFAULT_API_URL = 'https://slack.com/api/';

/** the form body the official client sends: strings as they are, anything else as JSON */
export function slackFormBody(params: Record<string, unknown>): string {
  const form = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v === undefined) continue;
    form.append(k, typeof v === 'string' ? v : JSON.stringify(v));
  }
  return form.toString();
}

export function slackFormApi(
  options: SlackWebApiOptions & { fetch?: typeof fetch; sleep?: (ms: number) => Promise<void> },
): SlackApi {
  const apiUrl = options.apiUrl ?? DEFAULT_API_URL;
  const retries = options.retries ?? 2;
  const doFetch = options.fetch ?? fetch;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let token: Promise<string> | undefined;

  async function call(method: string, params: Record<string, unknown>): Promise<Record<string, unknown>> {
    const body = slackFormBody(params);
    for (let attempt = 0; ; attempt++) {
      const backoff = Math.min(MIN_WAIT_MS * 2 ** attempt, MAX_WAIT_MS);
      let failure: SlackApiError;
      let wait = backoff;
      try {
        const res = await doFetch(`${apiUrl}${method}`, {
          method: 'POST',
          headers: {
            authorization: `Bearer ${await (token ??= options.token())}`,
            'content-type': 'application/x-www-form-urlencoded',
          },
          body,
        });
        if (res.status === 200) {
          const out = (await res.json()) as Record<string, unknown>;
          if (out.ok === true) return out;
          const error = typeof out.error === 'string' ? out.error : 'unknown_error';
          // Slack said no: retrying would say no again
          throw new SlackApiError('slack_webapi_platform_error', `An API error occurred: ${error}`, {
            ok: false,
            error,
          });
        }
        await res.body?.cancel();
        if (res.status === 429) {
          const header = res.headers.get('retry-after');
          const after = header === null ? NaN : Number(header);
          if (Number.isFinite(after) && after >= 0) wait = Math.min(after * 1000, MAX_WAIT_MS);
          failure = new SlackApiError(
            'slack_webapi_rate_limited_error',
            `A rate limit was exceeded (${method})`,
            undefined,
            429,
          );
        } else {
          failure = new SlackApiError(
            'slack_webapi_http_error',
            `An HTTP protocol error occurred: statusCode = ${res.status}`,
            undefined,
            res.status,
          );
          if (res.status < 500) throw failure;
        }
      } catch (e) {
        if (e instanceof SlackApiError) throw e;
        failure = new SlackApiError(
          'slack_webapi_request_error',
          `A request error occurred: ${(e as Error).message}`,
        );
      }
      if (attempt >= retries) throw failure;
      await sleep(wait);
    }
  }

  return {
    async postMessage(m) {
      const out = await call('chat.postMessage', {
        channel: m.channel,
        text: m.text,
        blocks: m.blocks,
        unfurl_links: false,
      });
      return { channel: String(out.channel ?? m.channel), ts: String(out.ts) };
    },
    async update(m) {
      await call('chat.update', { channel: m.channel, ts: m.ts, text: m.text, blocks: m.blocks });
    },
    async postEphemeral(m) {
      await call('chat.postEphemeral', { channel: m.channel, user: m.user, text: m.text, blocks: m.blocks });
    },
    async groupMembers(groupId) {
      const out = await call('usergroups.users.list', { usergroup: groupId });
      return Array.isArray(out.users) ? out.users.map(String) : [];
    },
  };
}
