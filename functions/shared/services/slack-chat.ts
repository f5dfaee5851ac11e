import { approvalMessage, decidedMessage } from '../domain/slack-messages';
import type { ApprovalMessenger, ClusterDirectory, SlackApi } from '../ports';

/**
 * Approval gates in Slack: the Approve / Deny message goes to the cluster's `slack.channel`
 * (none configured: nothing is posted), and is updated to say who decided.
 */
export function slackApprovalMessenger(api: SlackApi, clusters: ClusterDirectory): ApprovalMessenger {
  return {
    async ask(approval) {
      const channel = (await clusters.get(approval.cluster)).slack?.channel;
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
