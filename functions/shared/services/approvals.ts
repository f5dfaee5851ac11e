import {
  ApprovalRefusedError,
  checkDecision,
  withoutToken,
  type ApprovalRecord,
  type Decision,
} from '../domain/approvals';
import { ApprovalDeniedError } from '../errors';
import type { ApprovalMessenger, ApprovalStore, Clock, ClusterDirectory, TaskCallbacks } from '../ports';

export interface DecideApprovalDeps {
  approvals: ApprovalStore;
  callbacks: TaskCallbacks;
  clusters: ClusterDirectory;
  clock: Clock;
  /** updates the Slack message to say who decided; absent where there is no Slack */
  messenger?: ApprovalMessenger;
  /** the audit line: who decided what on which run (a structured log line in Lambda) */
  audit?: (entry: Record<string, unknown>) => void;
}

export type DecideApprovalRequest = ({ approvalId: string } | { executionId: string }) & {
  decision: Decision;
  /** the decider's principal: `slack:U024BE7LH`, `cli:alice` */
  by: string;
  /** the Slack user groups the decider is in (for `approval.approvers` entries that are groups) */
  groups?: readonly string[];
  reason?: string;
};

/** what the gate's Task receives on approval (SendTaskSuccess), at `$.approval.decision` */
export interface ApprovalOutput {
  approvalId: string;
  decision: 'approved';
  by: string;
  at: string;
  reason?: string;
}

export interface DecideApprovalResult {
  approvalId: string;
  executionId: string;
  cluster: string;
  workflow: string;
  decision: 'approved' | 'denied';
  by: string;
  at: string;
  reason?: string;
}

/**
 * Decides one approval gate: finds it (by approval id or by execution), checks the rules
 * (still pending, not expired, not the requester approving their own run unless the cluster
 * allows it, an approver when the cluster lists them), records the decision with a conditional
 * write (pending → approved/denied, so of two presses exactly one wins), then completes the
 * workflow's task: SendTaskSuccess with `{ approvalId, decision: 'approved', by, at, reason? }`,
 * or SendTaskFailure with ApprovalDeniedError and a cause naming who and why. Last, the Slack
 * message says who decided (a failure there changes nothing that was decided).
 * @throws ApprovalRefusedError (unknown id, already decided, expired, self-approval, not an
 *   approver): nothing was changed
 */
export async function decideApproval(
  request: DecideApprovalRequest,
  deps: DecideApprovalDeps,
): Promise<DecideApprovalResult> {
  const record =
    'approvalId' in request
      ? await deps.approvals.get(request.approvalId)
      : await deps.approvals.findByExecution(request.executionId);
  if (!record) {
    const what =
      'approvalId' in request ? `approval ${request.approvalId}` : `execution ${request.executionId}`;
    throw new ApprovalRefusedError(`no approval is known for ${what}; nothing was changed`, 'unknown');
  }
  const cluster = await deps.clusters.get(record.cluster);
  const decider = { by: request.by, groups: request.groups };
  const now = deps.clock.now();
  checkDecision(record, request.decision, decider, cluster.approval, now);

  const status = request.decision === 'approve' ? 'approved' : 'denied';
  const at = now.toISOString();
  const reason = request.reason?.trim() || undefined;
  const written = await deps.approvals.decide(
    record.approvalId,
    { status, decidedBy: request.by, decidedAt: at, ...(reason && { reason }) },
    now,
  );
  if (!written.decided) {
    // another press won the race, or the gate expired between the read and the write
    checkDecision(written.record ?? record, request.decision, decider, cluster.approval, now);
    throw new ApprovalRefusedError(
      `approval ${record.approvalId} is no longer pending; nothing was changed`,
      'already-decided',
    );
  }

  if (status === 'approved') {
    const output: ApprovalOutput = {
      approvalId: record.approvalId,
      decision: 'approved',
      by: request.by,
      at,
      ...(reason && { reason }),
    };
    await deps.callbacks.succeed(record.taskToken, output);
  } else {
    const denied = new ApprovalDeniedError(
      `${record.workflow} on ${record.cluster} was denied by ${request.by} at ${at}: ${reason ?? 'no reason given'}`,
    );
    await deps.callbacks.fail(record.taskToken, denied.name, denied.message);
  }
  const result: DecideApprovalResult = {
    approvalId: record.approvalId,
    executionId: record.executionId,
    cluster: record.cluster,
    workflow: record.workflow,
    decision: status,
    by: request.by,
    at,
    ...(reason && { reason }),
  };
  deps.audit?.({ event: 'approval-decided', requestedBy: record.requestedBy, ...result });
  await tellDecided(written.record, deps);
  return result;
}

async function tellDecided(record: ApprovalRecord, deps: DecideApprovalDeps): Promise<void> {
  if (!deps.messenger || !record.message) return;
  try {
    await deps.messenger.decided(withoutToken(record));
  } catch (e) {
    // the decision stands; the message just still shows the buttons
    deps.audit?.({
      event: 'approval-message-not-updated',
      approvalId: record.approvalId,
      error: (e as Error).name,
    });
  }
}
