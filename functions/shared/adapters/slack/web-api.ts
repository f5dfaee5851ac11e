import { WebClient } from '@slack/web-api';
import type { SlackApi } from '../../ports';

export interface SlackWebApiOptions {
  /** the bot token, asked for on first use (it comes from Secrets Manager) */
  token: () => Promise<string>;
  /** `https://slack.com/api/` unless a test points it at a loopback stand-in */
  apiUrl?: string;
  /** Slack's own retries of a failed call (429s honour Retry-After); default 2 */
  retries?: number;
}

/**
 * The Slack Web API through the official client (@slack/web-api): one WebClient per warm
 * container, built on first use. Errors are the client's (`slack_webapi_platform_error` and so
 * on); callers decide whether a failure matters.
 */
export function slackWebApi(options: SlackWebApiOptions): SlackApi {
  let client: Promise<WebClient> | undefined;
  const web = () =>
    (client ??= options.token().then(
      (token) =>
        new WebClient(token, {
          slackApiUrl: options.apiUrl,
          retryConfig: { retries: options.retries ?? 2, factor: 2, minTimeout: 200, maxTimeout: 2000 },
          // the client would otherwise log every retry at warn with the request
          logLevel: undefined,
        }),
    ));
  return {
    async postMessage(m) {
      const out = await (
        await web()
      ).chat.postMessage({
        channel: m.channel,
        text: m.text,
        ...(m.blocks && { blocks: m.blocks as never }),
        unfurl_links: false,
      });
      return { channel: String(out.channel ?? m.channel), ts: String(out.ts) };
    },
    async update(m) {
      await (
        await web()
      ).chat.update({
        channel: m.channel,
        ts: m.ts,
        text: m.text,
        ...(m.blocks && { blocks: m.blocks as never }),
      });
    },
    async postEphemeral(m) {
      await (
        await web()
      ).chat.postEphemeral({
        channel: m.channel,
        user: m.user,
        text: m.text,
        ...(m.blocks && { blocks: m.blocks as never }),
      });
    },
    async groupMembers(groupId) {
      const out = await (await web()).usergroups.users.list({ usergroup: groupId });
      return out.users ?? [];
    },
  };
}
