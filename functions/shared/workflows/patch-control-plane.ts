import * as z from '../zod';
import { upgradeControlPlane } from './upgrade-control-plane';
import { baseInput, defineWorkflow } from './workflow';

export interface ControlPlanePatchSettings {
  enabled: boolean;
  /** ask again before each node after the first, not only before the first */
  approvalBetweenNodes: boolean;
  /** CloudWatch alarms that must not be in ALARM when the patch starts */
  blockerAlarms: string[];
}

const alarmName = z.string().min(1).max(255);

/**
 * The control-plane nodes' OS, one node at a time, on the upgrade's path: preflight, fresh
 * snapshot, approval, then per node etcd leadership off it, out of the API load balancer, drain,
 * os-patch (the patching workflow's command and settings), reboot if required and back with a
 * new boot id, gate, uncordon, back in. It runs upgrade-control-plane's ASL: an input without a
 * `version` makes that file patch instead of upgrade (see its first Choice).
 */
export const patchControlPlane = defineWorkflow({
  name: 'patch-control-plane',
  definition: upgradeControlPlane.name,
  summary:
    'patch the control-plane nodes OS one node at a time behind quorum gates: preflight, fresh snapshot, approval, then per node leader move, load balancer out, drain, os-patch, reboot if required, gate, back',
  comment:
    'Caretaker control-plane OS patching: preflight, nested etcd backup, approval, one node at a time behind gates (os-patch instead of kubeadm), report, unlock',
  needsEtcd: true,
  // the same file: the same substitutions
  substitutions: upgradeControlPlane.substitutions,
  input: baseInput.extend({
    /** stop after the preflight and report the plan; nothing is changed */
    dryRun: z.boolean().optional(),
  }),
  config: {
    key: 'controlPlanePatching',
    schema: () =>
      z
        .object({
          enabled: z.boolean().optional(),
          approvalBetweenNodes: z.boolean().optional(),
          blockerAlarms: z.array(alarmName).max(100).optional(),
        })
        .strict(),
    resolve: (block, c): ControlPlanePatchSettings | undefined => {
      if (c.kind === 'eks') {
        if (block)
          c.problems.push(
            `${c.at}.controlPlanePatching: AWS patches the EKS control plane; remove this block`,
          );
        return undefined;
      }
      return {
        enabled: block?.enabled ?? true,
        approvalBetweenNodes: block?.approvalBetweenNodes ?? false,
        blockerAlarms: block?.blockerAlarms ?? [],
      };
    },
  },
  // started by a person, never on a schedule
  schedule: () => undefined,
  deployedFor: (settings) => settings.some((s) => s?.enabled),
  outcome: {
    afterFailure:
      'No further control-plane node was touched; a node that failed stays out of the load balancer and cordoned (see the message). The operation lock was released.',
  },
  cli: {
    verb: 'patch-control-plane',
    summary: 'patch the control-plane nodes OS one at a time (reboot if required), after approval',
    options: {
      'dry-run': {
        field: 'dryRun',
        type: 'boolean',
        description: 'run the preflight and report the plan; change nothing',
      },
    },
  },
});
