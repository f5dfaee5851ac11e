/**
 * What Caretaker says in chat, as data: Block Kit for the Slack app, and AWS Chatbot's (Amazon Q
 * Developer in chat applications) custom-notification format for teams that use it instead.
 * Pure: the adapters send these.
 */
import type { ApprovalView } from './approvals';

/** a Block Kit block; only the shapes built here */
export type Block = Record<string, unknown>;

/** Slack's limit on a section's text */
const SECTION_MAX = 3000;

const clipText = (text: string, max = SECTION_MAX) =>
  text.length <= max ? text : `${text.slice(0, max - 1)}…`;

/** Slack mrkdwn treats &, < and > as control characters */
export function escapeMrkdwn(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** the execution in the Step Functions console (the region is the ARN's) */
export function consoleUrl(executionArn: string): string | undefined {
  const region = /^arn:aws[\w-]*:states:([a-z0-9-]+):\d{12}:execution:/.exec(executionArn)?.[1];
  if (!region) return undefined;
  return `https://${region}.console.aws.amazon.com/states/home?region=${region}#/v2/executions/details/${encodeURIComponent(executionArn)}`;
}

export const APPROVE_ACTION = 'caretaker_approve';
export const DENY_ACTION = 'caretaker_deny';

/** the Approve / Deny message: the buttons carry the approval id only */
export function approvalMessage(a: ApprovalView): { text: string; blocks: Block[] } {
  const text = `Approval needed: ${a.workflow} on ${a.cluster} (asked by ${a.requestedBy})`;
  const url = consoleUrl(a.executionId);
  return {
    text,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: clipText(
            `*Approval needed:* \`${a.workflow}\` on *${escapeMrkdwn(a.cluster)}*, asked by ${who(a.requestedBy)}\n${escapeMrkdwn(a.summary)}`,
          ),
        },
      },
      {
        type: 'context',
        elements: [
          {
            type: 'mrkdwn',
            text: `Aborts safely unless decided before ${a.expiresAt}${url ? ` · <${url}|execution>` : ''} · approval ${a.approvalId}`,
          },
        ],
      },
      {
        type: 'actions',
        block_id: 'caretaker_approval',
        elements: [
          {
            type: 'button',
            action_id: APPROVE_ACTION,
            style: 'primary',
            text: { type: 'plain_text', text: 'Approve' },
            value: a.approvalId,
          },
          {
            type: 'button',
            action_id: DENY_ACTION,
            style: 'danger',
            text: { type: 'plain_text', text: 'Deny' },
            value: a.approvalId,
          },
        ],
      },
    ],
  };
}

/** the same message once decided: who, when, why; no buttons left */
export function decidedMessage(a: ApprovalView): { text: string; blocks: Block[] } {
  const verdict = a.status === 'approved' ? 'Approved' : 'Denied';
  const text = `${verdict}: ${a.workflow} on ${a.cluster} by ${a.decidedBy ?? 'someone'}`;
  return {
    text,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: clipText(
            `*${verdict}* by ${who(a.decidedBy ?? 'someone')} at ${a.decidedAt ?? ''}: \`${a.workflow}\` on *${escapeMrkdwn(a.cluster)}* (asked by ${who(a.requestedBy)})` +
              (a.reason ? `\n> ${escapeMrkdwn(a.reason)}` : '') +
              `\n${escapeMrkdwn(a.summary)}`,
          ),
        },
      },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `approval ${a.approvalId}` }] },
    ],
  };
}

/** `slack:U024BE7LH` → a mention; anything else as it is */
export function who(principal: string): string {
  const id = /^slack:([UW][A-Z0-9]{2,20})$/.exec(principal)?.[1];
  return id ? `<@${id}>` : escapeMrkdwn(principal);
}

/** a workflow's outcome, as publish-outcome describes it */
export interface OutcomeView {
  cluster: string;
  workflow: string;
  outcome: 'Succeeded' | 'Failed' | 'Skipped' | 'Paused';
  executionId: string;
  seconds: number;
  /** describeOutcome's lines, after the first (snapshot, retention, failed step, …) */
  details: string[];
  /** a runbook for the workflow */
  runbook?: string;
}

const EMOJI = {
  Succeeded: ':white_check_mark:',
  Failed: ':x:',
  Skipped: ':fast_forward:',
  Paused: ':pause_button:',
} as const;

export function outcomeMessage(o: OutcomeView): { text: string; blocks: Block[] } {
  const text = `${o.workflow} ${o.outcome.toLowerCase()} on ${o.cluster} after ${o.seconds.toFixed(0)} s`;
  const url = consoleUrl(o.executionId);
  const links = [url && `<${url}|execution in the console>`, o.runbook && `<${o.runbook}|runbook>`].filter(
    Boolean,
  );
  return {
    text,
    blocks: [
      {
        type: 'section',
        text: {
          type: 'mrkdwn',
          text: `${EMOJI[o.outcome]} *${o.workflow}* ${o.outcome.toLowerCase()} on *${escapeMrkdwn(o.cluster)}* after ${o.seconds.toFixed(0)} s`,
        },
      },
      ...(o.details.length > 0
        ? [{ type: 'section', text: { type: 'mrkdwn', text: clipText(escapeMrkdwn(o.details.join('\n'))) } }]
        : []),
      {
        type: 'context',
        elements: [
          { type: 'mrkdwn', text: clipText([...links, escapeMrkdwn(o.executionId)].join(' · '), 2000) },
        ],
      },
    ],
  };
}

/**
 * The same outcome in AWS Chatbot's custom-notification format (version 1.0, source custom,
 * client-markdown), for an SNS topic mapped to a Chatbot / Amazon Q Developer channel.
 */
export function chatbotNotification(o: OutcomeView): Record<string, unknown> {
  const url = consoleUrl(o.executionId);
  return {
    version: '1.0',
    source: 'custom',
    id: o.executionId.slice(-200),
    content: {
      textType: 'client-markdown',
      title: `${EMOJI[o.outcome]} ${o.workflow} ${o.outcome.toLowerCase()} on ${o.cluster}`,
      description: clipText([`after ${o.seconds.toFixed(0)} s`, ...o.details].join('\n'), 8000),
      nextSteps: [url && `[Execution in the console](${url})`, o.runbook && `[Runbook](${o.runbook})`].filter(
        (s): s is string => typeof s === 'string',
      ),
      keywords: [o.cluster, o.workflow, o.outcome],
    },
    metadata: {
      threadId: `${o.cluster}-${o.workflow}`,
      summary: `${o.workflow} ${o.outcome.toLowerCase()} on ${o.cluster}`,
      eventType: `caretaker.${o.workflow}.${o.outcome}`,
      relatedResources: [o.executionId],
      additionalContext: { cluster: o.cluster, workflow: o.workflow, outcome: o.outcome },
    },
  };
}
