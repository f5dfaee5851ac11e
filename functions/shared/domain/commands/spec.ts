import type * as z from '../../zod';
import type { ClusterConfig } from '../config';

/**
 * The kinds of node a command may run on (`target`) or be about (`subject`): the cluster's
 * control-plane nodes, its workers, its scratch instances, or `node`, any node of the cluster
 * named in the request.
 */
export type NodeKind = 'control-plane' | 'worker' | 'scratch' | 'node';

/**
 * what a command needs from the cluster; EKS has no etcd Caretaker can reach, nor a
 * control-plane node to run kubectl on
 */
export type ClusterNeed = 'etcd' | 'kubernetes';

/** what a command's parameters are built from, besides the cluster's config and the args */
export interface CommandContext {
  executionId: string;
  bucket: string;
}

/**
 * One node command: one of Caretaker's own SSM documents (ssm-documents/<name>.yaml), where it
 * runs, which node it is about, what it takes and what it prints. One module per command in
 * this folder; send-command, complete-command, infra and the sandbox know commands only
 * through these.
 */
export interface CommandSpec<A extends z.ZodType = z.ZodType, R extends z.ZodType = z.ZodType> {
  /** the logical name, which is also the document's file name (ssm-documents/<name>.yaml) */
  name: string;
  /** the kind of node the request's instanceId must be */
  target: NodeKind;
  /** the node the command is about: the node it runs on (`self`), or a node of this kind */
  subject: 'self' | NodeKind;
  needs: readonly ClusterNeed[];
  /** the request's `args`, checked before any AWS call */
  args: A;
  /** cross-checks of the args against the cluster named in the request; one line per problem */
  checkArgs?(args: z.output<A>, cluster: string): string[];
  /** the script's CARETAKER_RESULT object */
  result: R;
  /**
   * how long the script may run: the document's `mainSteps[0].inputs.timeoutSeconds`, the same
   * number (test/unit/domain/command-catalog.test.ts and synth compare them)
   */
  executionTimeoutSeconds: number;
  /** how long SSM may wait to deliver it (SendCommand TimeoutSeconds) */
  deliveryTimeoutSeconds: number;
  /** the document's parameters; never free text, and checked by SSM against allowedPattern */
  parameters(cluster: ClusterConfig, args: z.output<A>, context: CommandContext): Record<string, string>;
}

/** a command module's one export: typed by its own args and result schemas */
export function defineCommand<A extends z.ZodType, R extends z.ZodType>(
  spec: CommandSpec<A, R>,
): CommandSpec<A, R> {
  return spec;
}

/** a node that is briefly unreachable still gets a command within this time */
export const DEFAULT_DELIVERY_TIMEOUT_SECONDS = 300;
/** past delivery and execution, how long before the reconciler calls a command lost */
export const DEADLINE_GRACE_SECONDS = 120;
/** how often the reconciler looks at parked commands (infra's schedule uses this number) */
export const RECONCILE_INTERVAL_SECONDS = 300;

/** when the reconciler fails a command that never reported, counted from the send */
export function commandDeadlineSeconds(spec: CommandSpec): number {
  return spec.deliveryTimeoutSeconds + spec.executionTimeoutSeconds + DEADLINE_GRACE_SECONDS;
}

/**
 * the TimeoutSeconds of the ASL Task that waits on the command: past the reconciler's deadline
 * and its next run, so a lost command ends with the reconciler's CommandTimedOutError (which
 * says what happened) and States.Timeout is only the last backstop
 */
export function taskTimeoutSeconds(spec: CommandSpec): number {
  return commandDeadlineSeconds(spec) + RECONCILE_INTERVAL_SECONDS;
}
