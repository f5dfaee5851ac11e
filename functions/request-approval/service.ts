import { randomBytes } from 'node:crypto';
import { withoutToken, type ApprovalRecord } from '../shared/domain/approvals';
import type { ApprovalMessenger, ApprovalStore, Clock, Notifier } from '../shared/ports';

export interface RequestApprovalDeps {
  approvals: ApprovalStore;
  notifier: Notifier;
  clock: Clock;
  /** Slack: the Approve / Deny message; absent when Slack is not configured */
  messenger?: ApprovalMessenger;
  /** a message that could not be posted (the gate still waits; the CLI can decide) */
  audit?: (entry: Record<string, unknown>) => void;
  /** the approval id: 128 random bits unless a test fixes it */
  newApprovalId?: () => string;
}

export interface RequestApprovalInput {
  taskToken: string;
  executionId: string;
  cluster: string;
  workflow: string;
  requestedBy: string;
  summary: string;
  timeoutSeconds: number;
}

/** 128 random bits, URL-safe: what buttons and messages carry instead of the token */
export function newApprovalId(): string {
  return `apr-${randomBytes(16).toString('base64url')}`;
}

/** what the SNS message says; it names the approval and the execution, never the token */
export function describeRequest(a: Omit<ApprovalRecord, 'taskToken'>): { subject: string; message: string } {
  return {
    subject: `[Caretaker] approval needed: ${a.workflow} on ${a.cluster}`,
    message: [
      `${a.workflow} on cluster ${a.cluster} waits for an approval (asked by ${a.requestedBy}).`,
      `Plan: ${a.summary}`,
      `It aborts safely unless someone decides before ${a.expiresAt}.`,
      `Approve: caretaker approve ${a.executionId}`,
      `Deny:    caretaker deny ${a.executionId} --reason "<why>"`,
      `Approval: ${a.approvalId}`,
    ].join('\n'),
  };
}

/**
 * An approval gate's Lambda (`lambda:invoke.waitForTaskToken`): records the gate with its task
 * token in DynamoDB under a random approval id, then asks people: SNS always, and Slack
 * (Approve / Deny buttons carrying only the approval id) where the cluster has a channel. A
 * Slack failure is logged, not thrown: the gate still waits and the CLI can decide. A retried
 * invocation with the same token finds its own record and asks nobody twice.
 */
export async function requestApproval(input: RequestApprovalInput, deps: RequestApprovalDeps) {
  const existing = await deps.approvals.findByExecution(input.executionId);
  if (existing && existing.taskToken === input.taskToken) {
    return { approvalId: existing.approvalId, expiresAt: existing.expiresAt, repeated: true };
  }
  const now = deps.clock.now();
  const record: ApprovalRecord = {
    approvalId: (deps.newApprovalId ?? newApprovalId)(),
    taskToken: input.taskToken,
    executionId: input.executionId,
    cluster: input.cluster,
    workflow: input.workflow,
    requestedBy: input.requestedBy,
    summary: input.summary,
    requestedAt: now.toISOString(),
    expiresAt: new Date(now.getTime() + input.timeoutSeconds * 1000).toISOString(),
    status: 'pending',
  };
  await deps.approvals.put(record);
  const view = withoutToken(record);
  const { subject, message } = describeRequest(view);
  await deps.notifier.publish(subject, message, {
    cluster: record.cluster,
    workflow: record.workflow,
    outcome: 'ApprovalRequested',
  });
  let posted: { channel: string; ts: string } | undefined;
  if (deps.messenger) {
    try {
      posted = await deps.messenger.ask(view);
      if (posted) await deps.approvals.setMessage(record.approvalId, posted);
    } catch (e) {
      deps.audit?.({
        event: 'approval-message-not-posted',
        approvalId: record.approvalId,
        error: (e as Error).name,
      });
    }
  }
  deps.audit?.({ event: 'approval-requested', ...view, slack: posted ?? null });
  return { approvalId: record.approvalId, expiresAt: record.expiresAt, repeated: false };
}
