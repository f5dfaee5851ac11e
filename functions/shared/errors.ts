/**
 * Named errors the state machines catch. Every error has an explicit `name` (minifiers rename
 * classes, and Step Functions matches `ErrorEquals` on the name). An ASL file may name only the
 * errors in `ERROR_NAMES` (derived from the classes below), `States.*` or AWS service errors;
 * test/asl enforces it, and test/unit/errors.test.ts that each class is raised somewhere.
 */

export abstract class CaretakerError extends Error {
  abstract override readonly name: string;
}

/** Input from outside (an event, Slack, the CLI, config) failed validation; nothing was changed. */
export class InvalidInputError extends CaretakerError {
  override readonly name = 'InvalidInputError';
  constructor(
    message: string,
    readonly issues: readonly string[] = [],
  ) {
    super(message);
  }
}

/** The named cluster is not in Caretaker's configuration. */
export class ClusterNotFoundError extends CaretakerError {
  override readonly name = 'ClusterNotFoundError';
}

/** No running, SSM-managed instance matched the cluster's control-plane tags. */
export class NoInstancesFoundError extends CaretakerError {
  override readonly name = 'NoInstancesFoundError';
}

/** No etcd member is healthy enough to act on; the cluster was not touched. */
export class EtcdUnhealthyError extends CaretakerError {
  override readonly name = 'EtcdUnhealthyError';
}

/** A Caretaker SSM command ended Failed/Cancelled, or its output had no CARETAKER_RESULT line. */
export class CommandFailedError extends CaretakerError {
  override readonly name = 'CommandFailedError';
}

/** A Caretaker SSM command ran past its timeout, or its completion never came (complete-invocation reports it). */
export class CommandTimedOutError extends CaretakerError {
  override readonly name = 'CommandTimedOutError';
}

/** The uploaded snapshot does not match its manifest (size, sha256 or revision). */
export class UploadMismatchError extends CaretakerError {
  override readonly name = 'UploadMismatchError';
}

/**
 * The scratch instance did not come Online in SSM before restore-verify's deadline. Raised by the
 * state machine when check-scratch-ready reports the deadline passed (a not-ready check is an
 * answer, not an error).
 */
export class ScratchNotReadyError extends CaretakerError {
  override readonly name = 'ScratchNotReadyError';
}

/** The scratch instance is gone (terminated, stopping or stopped) before it was ready: it never will be. */
export class ScratchGoneError extends CaretakerError {
  override readonly name = 'ScratchGoneError';
}

/**
 * A snapshot was restored and checked, and a check failed; the snapshot is tagged unverified.
 * Raised by restore-verify's Fail state, after the verdict was recorded (nothing is retried).
 */
export class VerificationFailedError extends CaretakerError {
  override readonly name = 'VerificationFailedError';
}

/** A call to AWS failed in a way worth retrying (throttling, 5xx); state machines retry it. */
export class TransientError extends CaretakerError {
  override readonly name = 'TransientError';
}

/** The command does not apply to this kind of cluster (an etcd command on EKS); nothing was sent. */
export class NotForThisKindError extends CaretakerError {
  override readonly name = 'NotForThisKindError';
}

/**
 * The cluster lease this run works under is no longer ours (it lapsed, or another operation holds
 * it): found by a renewal before the next change, so nothing was changed without the lock.
 */
export class LeaseLostError extends CaretakerError {
  override readonly name = 'LeaseLostError';
}

/**
 * An EKS upgrade's preflight found a blocker (an upgrade insight at ERROR, an add-on with no
 * version for the target, a node group outside the kubelet skew, too few free IP addresses):
 * raised by the campaign's Fail state after the report went out; nothing was changed.
 */
export class EksPreflightBlockedError extends CaretakerError {
  override readonly name = 'EksPreflightBlockedError';
}

/**
 * An EKS update (control plane, add-on or node group) ended Failed or Cancelled, or did not
 * finish before its deadline; the message carries the update id and EKS's errors.
 */
export class EksUpdateFailedError extends CaretakerError {
  override readonly name = 'EksUpdateFailedError';
}

/** An object in the snapshot bucket is not what it claims to be: a manifest or report that is not JSON. */
export class CorruptObjectError extends CaretakerError {
  override readonly name = 'CorruptObjectError';
}

/**
 * A control-plane upgrade's preflight found a reason not to start (version skew, a member or
 * Node not healthy, a blocker alarm in ALARM): nothing was changed. The message lists each reason.
 */
export class PreflightRefusedError extends CaretakerError {
  override readonly name = 'PreflightRefusedError';
}

/**
 * A step of a rolling control-plane change failed on one node (a gate, the upgrade command, the
 * load balancer): the run stopped there and touched no further node. Raised by the state
 * machine's Fail state; the cause names the node, the step, the snapshot key and the runbook section.
 */
export class NodeStepFailedError extends CaretakerError {
  override readonly name = 'NodeStepFailedError';
}

/**
 * An approver denied the workflow at its approval gate (decideApproval sends it with
 * SendTaskFailure; the cause names who and why). The gate's Catch takes the deny path.
 */
export class ApprovalDeniedError extends CaretakerError {
  override readonly name = 'ApprovalDeniedError';
}

/** every error class a state machine may name; ERROR_NAMES is derived from it, never kept by hand */
export const ERROR_CLASSES = [
  InvalidInputError,
  ClusterNotFoundError,
  NoInstancesFoundError,
  EtcdUnhealthyError,
  CommandFailedError,
  CommandTimedOutError,
  UploadMismatchError,
  TransientError,
  ScratchNotReadyError,
  ScratchGoneError,
  VerificationFailedError,
  NotForThisKindError,
  LeaseLostError,
  CorruptObjectError,
  EksPreflightBlockedError,
  EksUpdateFailedError,
  PreflightRefusedError,
  NodeStepFailedError,
  ApprovalDeniedError,
] as const;

export type ErrorName = InstanceType<(typeof ERROR_CLASSES)[number]>['name'];

export const ERROR_NAMES: readonly ErrorName[] = ERROR_CLASSES.map((C) => new C('').name);
