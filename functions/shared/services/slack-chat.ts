import { approvalMessage, decidedMessage } from '../domain/slack-messages';
import type { ApprovalMessenger, ClusterDirectory, SlackApi } from '../ports';

/** the Slack channel of a cluster's messages, or undefined when it has none */
export type ChannelOf = (cluster: string) => Promise<string | undefined>;

/** from the clusters' resolved config (`slack.channel`), as the receiver reads it */
export function channelsFrom(clusters: ClusterDirectory): ChannelOf {
  return async (cluster) => (await clusters.get(cluster)).slack?.channel;
}

/**
 * from a map the stack puts in the environment (SLACK_CHANNELS_BY_CLUSTER): publish-outcome and
 * request-approval need nothing else of the config, so they carry no SSM client
 */
export function channelsFromMap(map: Readonly<Record<string, string>>): ChannelOf {
  return async (cluster) => (Object.hasOwn(map, cluster) ? map[cluster] : undefined);
}

/**
 * Approval gates in Slack: the Approve / Deny message goes to the cluster's `slack.channel`
 * (none configured: nothing is posted), and is updated to say who decided.
 */
export function slackApprovalMessenger(api: SlackApi, channelOf: ChannelOf): ApprovalMessenger {
  return {
    async ask(approval) {
      const channel = await channelOf(approval.cluster);
      if (!channel) return undefined;
      return api.postMessage({ channel, ...approvalMessage(approval) });
    },
    async decided(approval) {
      if (!approval.message) return;
      await api.update({
        channel: approval.message.channel,
        ts: approval.message.ts,
        ...decidedMessage(approval),
      });
    },
  };
}
