/**
 * Approval gates, the pure part: the per-cluster settings, the record a gate leaves in
 * DynamoDB, and the rules a decision must pass (not decided yet, not expired, not the
 * requester's own run, an approver). No AWS imports: services/approvals.ts applies these.
 */
import * as z from '../zod';

/** why a decision on an approval was refused; nothing was changed */
export type ApprovalRefusal = 'unknown' | 'already-decided' | 'expired' | 'self-approval' | 'not-an-approver';

/**
 * A decision on an approval gate was refused (unknown id, already decided, expired, the
 * requester approving their own run, someone who is not an approver): nothing was changed.
 * Not a state-machine error (no ASL catches it): the person who pressed or typed reads it.
 */
export class ApprovalRefusedError extends Error {
  override readonly name = 'ApprovalRefusedError';
  constructor(
    message: string,
    readonly refusal: ApprovalRefusal,
  ) {
    super(message);
  }
}

/** the cluster's `approval` block as users write it */
export const approvalBlock = z
  .object({
    /** how long a gate waits for a decision before the workflow aborts safely */
    timeoutMinutes: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 60)
      .optional(),
    /**
     * who may decide: Slack user ids (U…/W…), Slack user group ids (S…) or CLI principals
     * (`cli:alice`); absent = anyone the surface (Slack's `approve` permission, the CLI's IAM)
     * lets through
     */
    approvers: z
      .array(z.string().regex(/^[A-Za-z0-9@._:+-]{1,64}$/, 'must be a Slack user or group id, or cli:<name>'))
      .optional(),
    /** may the person who asked for the run approve it (default false: two people) */
    allowSelfApproval: z.boolean().optional(),
  })
  .strict();

export interface ApprovalSettings {
  timeoutMinutes: number;
  /** undefined: no list, anyone allowed by the surface may decide */
  approvers?: string[];
  allowSelfApproval: boolean;
}

export const APPROVAL_DEFAULTS: ApprovalSettings = { timeoutMinutes: 60, allowSelfApproval: false };

/** the block with its defaults */
export function resolveApproval(block: z.output<typeof approvalBlock> | undefined): ApprovalSettings {
  return {
    timeoutMinutes: block?.timeoutMinutes ?? APPROVAL_DEFAULTS.timeoutMinutes,
    ...(block?.approvers && { approvers: [...block.approvers] }),
    allowSelfApproval: block?.allowSelfApproval ?? APPROVAL_DEFAULTS.allowSelfApproval,
  };
}

/** what a workflow's preflight puts at `$.approval.timeoutSeconds` */
export function approvalTimeoutSeconds(settings: ApprovalSettings | undefined): number {
  return (settings ?? APPROVAL_DEFAULTS).timeoutMinutes * 60;
}

export type ApprovalStatus = 'pending' | 'approved' | 'denied';

/** one gate waiting (or decided) in DynamoDB; the only place its task token lives */
export interface ApprovalRecord {
  /** random, unguessable: what messages and buttons carry */
  approvalId: string;
  taskToken: string;
  executionId: string;
  cluster: string;
  workflow: string;
  requestedBy: string;
  summary: string;
  requestedAt: string;
  expiresAt: string;
  status: ApprovalStatus;
  decidedBy?: string;
  decidedAt?: string;
  reason?: string;
  /** the Slack message with the buttons, to update once decided */
  message?: { channel: string; ts: string };
}

/** an approval as shown to people: everything but the token */
export type ApprovalView = Omit<ApprovalRecord, 'taskToken'>;

export function withoutToken(record: ApprovalRecord): ApprovalView {
  const view: Partial<ApprovalRecord> = { ...record };
  delete view.taskToken;
  return view as ApprovalView;
}

export type Decision = 'approve' | 'deny';

/** who decides: `slack:U024BE7LH`, `cli:alice`; `groups`: the Slack user groups they are in */
export interface Decider {
  by: string;
  groups?: readonly string[];
}

/** the principal without its surface prefix: `slack:U024BE7LH` → `U024BE7LH` */
export function bareId(principal: string): string {
  return principal.replace(/^slack:/, '');
}

/** is `decider` on the list? An entry matches the principal, its bare Slack id, or a group */
export function isApprover(approvers: readonly string[], decider: Decider): boolean {
  return approvers.some(
    (entry) => entry === decider.by || entry === bareId(decider.by) || (decider.groups ?? []).includes(entry),
  );
}

/**
 * The rules a decision must pass before anything changes, in the order a person would want to
 * hear them: the gate is still open, then who may decide.
 * @throws ApprovalRefusedError naming what is wrong (already decided by whom, expired when,
 *   the requester approving their own run, not an approver)
 */
export function checkDecision(
  record: ApprovalRecord,
  decision: Decision,
  decider: Decider,
  configured: ApprovalSettings | undefined,
  now: Date,
): void {
  const settings = configured ?? APPROVAL_DEFAULTS;
  const what = `approval ${record.approvalId} (${record.workflow} on ${record.cluster})`;
  if (record.status !== 'pending') {
    throw new ApprovalRefusedError(
      `${what} was already ${record.status} by ${record.decidedBy ?? 'someone'} at ${record.decidedAt ?? 'an earlier time'}; nothing was changed`,
      'already-decided',
    );
  }
  if (now.getTime() >= Date.parse(record.expiresAt)) {
    throw new ApprovalRefusedError(
      `${what} expired at ${record.expiresAt}; the workflow aborts on its own, nothing was changed`,
      'expired',
    );
  }
  // denying your own run is always allowed: stopping is the safe direction
  if (
    decision === 'approve' &&
    !settings.allowSelfApproval &&
    sameRequester(record.requestedBy, decider.by)
  ) {
    throw new ApprovalRefusedError(
      `${decider.by} asked for this run and may not approve it: ${record.cluster} needs a second person (approval.allowSelfApproval is false)`,
      'self-approval',
    );
  }
  // the requester may always stop their own run; everyone else must be on the list
  const ownDenial = decision === 'deny' && sameRequester(record.requestedBy, decider.by);
  if (settings.approvers && !ownDenial && !isApprover(settings.approvers, decider)) {
    throw new ApprovalRefusedError(
      `${decider.by} may not ${decision} ${record.workflow} on ${record.cluster}: not in approval.approvers of ${record.cluster}`,
      'not-an-approver',
    );
  }
}

function sameRequester(requestedBy: string, by: string): boolean {
  return requestedBy === by || bareId(requestedBy) === bareId(by);
}
