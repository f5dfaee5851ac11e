import * as z from '../zod';
import { PATCHING_DEFAULTS, type PatchingSettings } from './patch-workers';
import { baseInput, defineWorkflow } from './workflow';

/**
 * The drain of a control-plane node: the patching workflow's drain settings (patching.drain,
 * its defaults when the cluster has no patching block), as the upgrade's ASL passes them to
 * node-drain. `onBlocked` is patching's onPdbTimeout; `disableEviction` starts false (the
 * disable-eviction policy drains a second time with it true).
 */
export interface ControlPlaneDrain {
  timeoutSeconds: number;
  gracePeriodSeconds: number;
  deleteEmptyDirData: boolean;
  /** patching.drain.force: also delete pods no controller manages, as patch-workers does */
  force: boolean;
  disableEviction: boolean;
  onBlocked: PatchingSettings['drain']['onPdbTimeout'];
}

export interface UpgradeSettings {
  enabled: boolean;
  /** ask again before each node after the first, not only before the first */
  approvalBetweenNodes: boolean;
  /** CloudWatch alarms that must not be in ALARM when the upgrade starts */
  blockerAlarms: string[];
  /** how kubeadm, kubelet and kubectl are installed on the control-plane nodes */
  packageManager: 'auto' | 'apt' | 'dnf';
  drain: ControlPlaneDrain;
  /**
   * after the control plane, upgrade the workers' kubelets (a nested patch-workers run); default:
   * true when the cluster has a patching block (false on kops)
   */
  workers: boolean;
}

const release = z
  .string()
  .regex(/^v\d{1,3}\.\d{1,3}\.\d{1,4}$/, 'must be a Kubernetes release such as v1.37.2 (with the v)');

const alarmName = z.string().min(1).max(255);

export function drainFrom(raw: Readonly<Record<string, unknown>>): ControlPlaneDrain {
  const patching = raw['patching'] as { drain?: Partial<PatchingSettings['drain']> } | undefined;
  const d = { ...PATCHING_DEFAULTS.drain, ...patching?.drain };
  return {
    timeoutSeconds: d.timeoutSeconds,
    gracePeriodSeconds: d.gracePeriodSeconds,
    deleteEmptyDirData: d.deleteEmptyDirData,
    force: d.force,
    disableEviction: false,
    onBlocked: d.onPdbTimeout,
  };
}

/**
 * preflight (skew, health, alarms, lock, fresh snapshot, kubeadm upgrade plan) → approval → one
 * control-plane node at a time: etcd leadership off it, out of the API load balancer, drain,
 * kubeadm upgrade, kubelet, gate, uncordon, back in the load balancer → report
 */
export const upgradeControlPlane = defineWorkflow({
  name: 'upgrade-control-plane',
  summary:
    'upgrade the control plane one node at a time behind quorum gates: preflight, fresh snapshot, approval, then per node leader move, load balancer out, drain, kubeadm, gate, back',
  comment:
    'Caretaker control-plane upgrade: preflight, nested etcd backup, approval, one node at a time behind gates, report, unlock',
  needsEtcd: true,
  substitutions: {
    AcquireLockFunctionArn: 'acquire-lock',
    ReleaseLockFunctionArn: 'release-lock',
    FindControlPlaneFunctionArn: 'find-control-plane',
    SendCommandFunctionArn: 'send-command',
    CheckAlarmsFunctionArn: 'check-alarms',
    PlanUpgradeFunctionArn: 'plan-upgrade',
    JudgeNodeGateFunctionArn: 'judge-node-gate',
    DeregisterTargetsFunctionArn: 'deregister-targets',
    CheckTargetsFunctionArn: 'check-targets',
    RegisterTargetsFunctionArn: 'register-targets',
    ReplaceInstanceFunctionArn: 'replace-instance',
    CheckReplacementFunctionArn: 'check-replacement',
    RequestApprovalFunctionArn: 'request-approval',
    PublishOutcomeFunctionArn: 'publish-outcome',
    EtcdBackupStateMachineArn: 'etcd-backup',
    PatchWorkersStateMachineArn: 'patch-workers',
  },
  input: baseInput.extend({
    version: release,
    /** stop after the preflight and report the plan; nothing is changed */
    dryRun: z.boolean().optional(),
    /** false: leave the workers' kubelets (default: the config's upgrade.workers) */
    workers: z.boolean().optional(),
  }),
  config: {
    key: 'upgrade',
    schema: () =>
      z
        .object({
          enabled: z.boolean().optional(),
          approvalBetweenNodes: z.boolean().optional(),
          blockerAlarms: z.array(alarmName).max(100).optional(),
          packageManager: z.enum(['auto', 'apt', 'dnf']).optional(),
          workers: z.boolean().optional(),
        })
        .strict(),
    resolve: (block, c): UpgradeSettings | undefined => {
      if (block?.workers === true && c.kind !== 'kops' && c.raw['patching'] === undefined) {
        c.problems.push(
          `${c.at}.upgrade.workers: the workers' kubelets are upgraded through patch-workers, which needs a patching block (\`"patching": {}\` takes every default)`,
        );
      }
      if (c.kind === 'kops' && block?.workers === true) {
        c.problems.push(
          `${c.at}.upgrade.workers: kops replaces its workers itself (kops rolling-update cluster); remove it or set it to false`,
        );
      }
      if (c.kind === 'eks') {
        if (block)
          c.problems.push(
            `${c.at}.upgrade: EKS control planes are upgraded through the EKS API; remove this block`,
          );
        return undefined;
      }
      return {
        enabled: block?.enabled ?? true,
        approvalBetweenNodes: block?.approvalBetweenNodes ?? false,
        blockerAlarms: block?.blockerAlarms ?? [],
        packageManager: block?.packageManager ?? 'auto',
        drain: drainFrom(c.raw),
        // the workers go through patch-workers, deployed where a cluster has a patching block;
        // kops replaces its workers itself (kops rolling-update cluster)
        workers: block?.workers ?? (c.kind !== 'kops' && c.raw['patching'] !== undefined),
      };
    },
  },
  // started by a person, never on a schedule
  schedule: () => undefined,
  deployedFor: (settings) => settings.some((u) => u?.enabled),
  outcome: {
    afterFailure:
      'No further control-plane node was touched; a node that failed its gate stays out of the load balancer (see the message). The operation lock was released.',
  },
  cli: {
    verb: 'upgrade',
    summary: 'upgrade the control plane to a Kubernetes release, one node at a time, after approval',
    options: {
      version: {
        field: 'version',
        type: 'string',
        value: 'VERSION',
        description: 'the target release, such as v1.37.2 (at most one minor ahead)',
      },
      'dry-run': {
        field: 'dryRun',
        type: 'boolean',
        description: 'run the preflight and report the plan; change nothing',
      },
    },
  },
});
