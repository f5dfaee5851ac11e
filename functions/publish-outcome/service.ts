import { chatbotNotification, outcomeMessage, type OutcomeView } from '../shared/domain/slack-messages';
import type { Clock, MetricSink, Notifier, SlackApi } from '../shared/ports';
import type { ChannelOf } from '../shared/services/slack-chat';
import { workflowNamed } from '../shared/workflows';
import { describePatching } from './patching';

export interface PublishDeps {
  notifier: Notifier;
  metrics: MetricSink;
  clock: Clock;
  /** the Slack app: Block Kit to the cluster's `slack.channel` (absent: no Slack) */
  chat?: { slack: SlackApi; channelOf: ChannelOf };
  /** the SNS topic in AWS Chatbot's custom-notification format (absent: none) */
  chatbot?: Notifier;
  /** `<base>/<workflow>.md` is the workflow's runbook link (absent: no link) */
  runbookBaseUrl?: string;
  /** chat deliveries that failed after their retries (a structured log line in Lambda) */
  audit?: (entry: Record<string, unknown>) => void;
  /** the pause between Slack attempts; tests make it instant */
  sleep?: (ms: number) => Promise<void>;
}

/** Slack attempts per outcome, and the pause before each retry */
export const SLACK_ATTEMPTS = 3;
const SLACK_BACKOFF_MS = [250, 1000];

interface Snapshot {
  key: string;
  size: number;
  sha256: string;
  revision: number;
}

interface Pruned {
  deleted: string[];
  skippedLocked: string[];
  kept: number;
  note?: string;
}

export interface OutcomeInput {
  cluster: string;
  workflow: string;
  outcome: 'Succeeded' | 'Failed' | 'Skipped' | 'Paused' | 'Escalated';
  executionId: string;
  startedAt: string;
  snapshot?: Snapshot & { totalKeys?: number; events?: Snapshot };
  pruned?: Pruned & { events?: Pruned };
  heldBy?: { owner: string; operation: string; acquiredAt: string; expiresAt: string; scope?: string };
  verification?: {
    key: string;
    verified: boolean;
    failedCheck?: string;
    reason?: string;
    restoreSeconds?: number | null;
  };
  /** why a run had nothing to do (restore-verify with no new snapshot) */
  note?: string;
  /** an EKS campaign's preflight report or patch plan */
  summary?: string;
  /** an EKS campaign's updates, each with its update id and status */
  steps?: { description: string; updateId: string; status: string }[];
  /** remediate: the alarm, the rule that stopped it, what a dry run would do */
  remediation?: {
    route: string;
    alarmName: string;
    alarmTime: string;
    dryRun?: boolean;
    wouldDo?: string[];
    rule?: string;
    message?: string;
  };
  error?: { Error: string; Cause?: string };
  /** patch-workers: the plan summary (dry run) or finish-patch's report */
  patching?: Record<string, unknown>;
}

/** how much of an error's cause a message carries: the start says what, the end shows the stderr tail */
export const CAUSE_MAX_CHARS = 6000;

/** `text` cut to at most `max` characters, keeping its start and end, with a marker saying how much went */
export function clip(text: string, max: number): string {
  if (text.length <= max) return text;
  const marker = `\n… [${text.length - max} characters cut] …\n`;
  const head = Math.floor((max - marker.length) / 3);
  const tailLength = max - marker.length - head;
  return text.slice(0, head) + marker + text.slice(text.length - tailLength);
}

/** the error's cause as Step Functions gives it is often JSON with an errorMessage inside */
function causeText(cause: string | undefined): string {
  if (!cause) return '';
  let text = cause;
  try {
    text = (JSON.parse(cause) as { errorMessage?: string }).errorMessage ?? cause;
  } catch {
    // not JSON: the cause as it is
  }
  return clip(text, CAUSE_MAX_CHARS);
}

/** what an on-call engineer reads first: what happened, to what, and what to do */
export function describeOutcome(i: OutcomeInput, seconds: number): { subject: string; message: string } {
  const subject = `[Caretaker] ${i.workflow} ${i.outcome.toLowerCase()}: ${i.cluster}`;
  const lines = [
    `${i.workflow} for cluster ${i.cluster} ${i.outcome.toLowerCase()} after ${seconds.toFixed(0)} s.`,
  ];
  if (i.snapshot) {
    lines.push(
      `Snapshot: ${i.snapshot.key} (${i.snapshot.size} bytes, revision ${i.snapshot.revision}, sha256 ${i.snapshot.sha256})`,
    );
    const e = i.snapshot.events;
    if (e) {
      lines.push(`Events snapshot: ${e.key} (${e.size} bytes, revision ${e.revision}, sha256 ${e.sha256})`);
    }
  }
  const retention = (label: string, p: Pruned) =>
    `${label}: kept ${p.kept}, deleted ${p.deleted.length}` +
    (p.skippedLocked.length ? `, skipped ${p.skippedLocked.length} under Object Lock` : '') +
    (p.note ? ` (${p.note})` : '');
  if (i.pruned) lines.push(retention('Retention', i.pruned));
  if (i.pruned?.events) lines.push(retention('Retention of the events series', i.pruned.events));
  if (i.verification) {
    const v = i.verification;
    lines.push(
      v.verified
        ? `Verified: ${v.key} restored and passed every check` +
            (v.restoreSeconds != null ? `; restore took ${v.restoreSeconds} s (measured RTO)` : '') +
            '.'
        : `NOT verified: ${v.key} failed the ${v.failedCheck || 'unknown'} check: ${v.reason ?? ''}. It stays tagged caretaker:verified=false; retention will not count it.`,
    );
  }
  if (i.note) lines.push(i.note);
  if (i.summary) lines.push(i.summary);
  if (i.steps) {
    lines.push(
      i.steps.length
        ? `Steps:\n${i.steps.map((s) => `- ${s.description}: update ${s.updateId} ${s.status}`).join('\n')}`
        : 'Steps: none (nothing was changed)',
    );
  }
  if (i.remediation) {
    const r = i.remediation;
    lines.push(`Alarm: ${r.alarmName} (ALARM at ${r.alarmTime}), runbook ${r.route}.`);
    if (r.rule)
      lines.push(
        `Escalated by rule ${r.rule}: ${r.message ?? ''}`,
        'Nothing further was done; a person has to decide.',
      );
    if (r.dryRun)
      lines.push('Dry run: nothing was changed. It would:', ...(r.wouldDo ?? []).map((w) => `  - ${w}`));
  }
  if (i.patching) lines.push(...describePatching(i.patching));
  if (i.heldBy) {
    lines.push(
      `Skipped: the cluster's ${i.heldBy.scope ? `${i.heldBy.scope} ` : ''}operation lock is held by ${i.heldBy.operation} (${i.heldBy.owner}) until ${i.heldBy.expiresAt}. Nothing was touched.`,
    );
  }
  if (i.error) {
    lines.push(`Error: ${i.error.Error}`, causeText(i.error.Cause));
    // each workflow says what its failure path undid: "no snapshot was pruned" is a backup's
    lines.push(workflowNamed(i.workflow)?.outcome.afterFailure ?? '');
  }
  lines.push(`Execution: ${i.executionId}`);
  return { subject, message: lines.filter(Boolean).join('\n') };
}

/** records the outcome as metrics (the "no backup" alarm reads Succeeded) and notifies */
export async function publishOutcome(input: OutcomeInput, deps: PublishDeps) {
  const seconds = Math.max(0, (deps.clock.now().getTime() - Date.parse(input.startedAt)) / 1000);
  const values: Parameters<MetricSink['record']>[1] = {
    Succeeded: { value: input.outcome === 'Succeeded' ? 1 : 0, unit: 'Count' },
    Failed: { value: input.outcome === 'Failed' ? 1 : 0, unit: 'Count' },
    Skipped: { value: input.outcome === 'Skipped' ? 1 : 0, unit: 'Count' },
    ...(input.outcome === 'Paused' ? { Paused: { value: 1, unit: 'Count' as const } } : {}),
    DurationSeconds: { value: seconds, unit: 'Seconds' },
  };
  if (input.snapshot) {
    values.SnapshotBytes = { value: input.snapshot.size, unit: 'Bytes' };
    values.SnapshotRevision = { value: input.snapshot.revision, unit: 'None' };
  }
  await deps.metrics.record({ cluster: input.cluster, workflow: input.workflow }, values);
  const { subject, message } = describeOutcome(input, seconds);
  await deps.notifier.publish(subject, message, {
    cluster: input.cluster,
    workflow: input.workflow,
    outcome: input.outcome,
  });
  const view: OutcomeView = {
    cluster: input.cluster,
    workflow: input.workflow,
    outcome: input.outcome,
    executionId: input.executionId,
    seconds,
    // the message's own lines, without its first (the headline) and last (the execution)
    details: message.split('\n').slice(1, -1),
    ...(deps.runbookBaseUrl && { runbook: `${deps.runbookBaseUrl.replace(/\/$/, '')}/${input.workflow}.md` }),
  };
  const chat = await Promise.all([postToSlack(view, deps), postToChatbot(view, subject, deps)]);
  return { published: true, subject, slack: chat[0], chatbot: chat[1] };
}

/**
 * The outcome in the cluster's Slack channel. A Slack failure never fails the workflow: it is
 * retried, then counted (SlackNotificationFailed, which an alarm watches) and logged.
 */
async function postToSlack(
  view: OutcomeView,
  deps: PublishDeps,
): Promise<'posted' | 'no-channel' | 'failed' | 'off'> {
  if (!deps.chat) return 'off';
  let channel: string | undefined;
  let error: unknown;
  for (let attempt = 1; attempt <= SLACK_ATTEMPTS; attempt++) {
    try {
      channel ??= await deps.chat.channelOf(view.cluster);
      if (!channel) return 'no-channel';
      await deps.chat.slack.postMessage({ channel, ...outcomeMessage(view) });
      return 'posted';
    } catch (e) {
      error = e;
      if (attempt < SLACK_ATTEMPTS) await (deps.sleep ?? wait)(SLACK_BACKOFF_MS[attempt - 1] ?? 1000);
    }
  }
  await chatFailed('SlackNotificationFailed', view, error, deps);
  return 'failed';
}

async function postToChatbot(
  view: OutcomeView,
  subject: string,
  deps: PublishDeps,
): Promise<'published' | 'failed' | 'off'> {
  if (!deps.chatbot) return 'off';
  try {
    await deps.chatbot.publish(subject, JSON.stringify(chatbotNotification(view)), {
      cluster: view.cluster,
      workflow: view.workflow,
      outcome: view.outcome,
    });
    return 'published';
  } catch (e) {
    await chatFailed('ChatbotNotificationFailed', view, e, deps);
    return 'failed';
  }
}

async function chatFailed(metric: string, view: OutcomeView, error: unknown, deps: PublishDeps) {
  deps.audit?.({
    event: metric,
    cluster: view.cluster,
    workflow: view.workflow,
    error: (error as Error)?.name,
  });
  // one dimension, so one alarm watches every cluster (Powertools adds `service` itself)
  await deps.metrics
    .record(
      { notification: metric === 'SlackNotificationFailed' ? 'slack' : 'chatbot' },
      { [metric]: { value: 1, unit: 'Count' } },
    )
    .catch(() => undefined);
}

const wait = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
