/**
 * The catalog of what Caretaker may run on a node: one module per command, each one of our own
 * SSM documents. A new command is its module here, its line below, and its document
 * (ssm-documents/<name>.yaml + .sh); send-command, complete-command, infra and the sandbox
 * find it through this list.
 */
import * as z from '../../zod';
import type { ClusterConfig } from '../config';
import { InvalidInputError, NotForThisKindError } from '../../errors';
import { describeIssues } from '../validation';
import { etcdRestoreVerify } from './etcd-restore-verify';
import { etcdSnapshot } from './etcd-snapshot';
import { etcdStatus } from './etcd-status';
import { etcdMaintenance } from './etcd-maintenance';
import { etcdRestartMember } from './etcd-restart-member';
import { healthProbe } from './health-probe';
import { etcdMoveLeader } from './etcd-move-leader';
import { controlPlaneUpgrade } from './control-plane-upgrade';
import { controlPlaneCheck } from './control-plane-check';
import { nodeCordon } from './node-cordon';
import { nodeDrain } from './node-drain';
import { nodeInventory } from './node-inventory';
import { nodePrune } from './node-prune';
import { nodeRecord } from './node-record';
import { nodeStatus } from './node-status';
import { osPatch, osPatchBaseline } from './os-patch';
import { kubeletUpgrade } from './kubelet-upgrade';
import { commandDeadlineSeconds, type CommandContext, type CommandSpec, type NodeKind } from './spec';

export * from './spec';

export const COMMANDS = {
  'etcd-status': etcdStatus,
  'etcd-snapshot': etcdSnapshot,
  'etcd-restore-verify': etcdRestoreVerify,
  'etcd-maintenance': etcdMaintenance,
  'etcd-restart-member': etcdRestartMember,
  'health-probe': healthProbe,
  'etcd-move-leader': etcdMoveLeader,
  'control-plane-upgrade': controlPlaneUpgrade,
  'control-plane-check': controlPlaneCheck,
  'node-inventory': nodeInventory,
  'node-cordon': nodeCordon,
  'node-drain': nodeDrain,
  'node-status': nodeStatus,
  'node-record': nodeRecord,
  'os-patch': osPatch,
  'os-patch-baseline': osPatchBaseline,
  'node-prune': nodePrune,
  'kubelet-upgrade': kubeletUpgrade,
} as const;
export type CommandName = keyof typeof COMMANDS;
export const COMMAND_NAMES = Object.keys(COMMANDS) as [CommandName, ...CommandName[]];

/** the `command` field of a send-command request */
export const commandName = z.enum(COMMAND_NAMES);

/** @returns undefined for a name that is not in the catalog (an own property only) */
export function findCommand(name: string): CommandSpec | undefined {
  return Object.hasOwn(COMMANDS, name) ? (COMMANDS[name as CommandName] as CommandSpec) : undefined;
}

/** @throws InvalidInputError for a name that is not in the catalog */
export function commandSpec(name: string): CommandSpec {
  const spec = findCommand(name);
  if (!spec) throw new InvalidInputError(`command: "${name}" is not one of ${COMMAND_NAMES.join(', ')}`);
  return spec;
}

/**
 * Checks a request's args against the command's schema and the cluster it names, with no AWS call.
 * @throws InvalidInputError naming each field (`args.key: …`)
 */
export function parseCommandArgs(spec: CommandSpec, cluster: string, raw: unknown): unknown {
  const parsed = spec.args.safeParse(raw ?? {});
  const problems = parsed.success
    ? (spec.checkArgs?.(parsed.data, cluster) ?? [])
    : describeIssues(parsed.error.issues);
  if (problems.length > 0) {
    const lines = problems.map((p) => (p.startsWith('(input)') ? `args${p.slice(7)}` : `args.${p}`));
    throw new InvalidInputError(`invalid ${spec.name} args: ${lines.join('; ')}`, lines);
  }
  return parsed.data;
}

/**
 * Whether the cluster can run the command at all, before anything is looked up or sent.
 * @throws NotForThisKindError saying which kind and why
 */
export function assertForKind(spec: CommandSpec, cluster: ClusterConfig): void {
  if (spec.needs.includes('etcd') && !cluster.etcd) {
    throw new NotForThisKindError(
      `${spec.name} is not for ${cluster.kind} clusters: ${cluster.name} has no etcd Caretaker can reach (AWS runs it)`,
    );
  }
  if (spec.needs.includes('kubernetes') && !cluster.kubernetes) {
    throw new NotForThisKindError(
      `${spec.name} is not for ${cluster.kind} clusters: ${cluster.name} has no control-plane node to run kubectl on (AWS runs it)`,
    );
  }
}

export interface CommandPlan {
  command: string;
  target: NodeKind;
  subject: CommandSpec['subject'];
  parameters: Record<string, string>;
  executionTimeoutSeconds: number;
  deliveryTimeoutSeconds: number;
  /** seconds after the send when the reconciler fails a command that never reported */
  deadlineSeconds: number;
}

/**
 * The document parameters and timeouts of one command for one cluster.
 * @throws NotForThisKindError (EKS and etcd), InvalidInputError for bad args
 */
export function planCommand(
  name: string,
  cluster: ClusterConfig,
  context: CommandContext,
  rawArgs?: unknown,
): CommandPlan {
  const spec = commandSpec(name);
  assertForKind(spec, cluster);
  const args = parseCommandArgs(spec, cluster.name, rawArgs);
  return {
    command: spec.name,
    target: spec.target,
    subject: spec.subject,
    parameters: spec.parameters(cluster, args, context),
    executionTimeoutSeconds: spec.executionTimeoutSeconds,
    deliveryTimeoutSeconds: spec.deliveryTimeoutSeconds,
    deadlineSeconds: commandDeadlineSeconds(spec),
  };
}
