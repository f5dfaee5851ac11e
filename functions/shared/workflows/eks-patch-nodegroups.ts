import * as z from '../zod';
import { eksSchema, resolveEks } from './eks';
import { baseInput, defineWorkflow } from './workflow';

/** lock → plan (who is behind the newest AMI release) → dry run stops → one group at a time → unlock → report */
export const eksPatchNodegroups = defineWorkflow({
  name: 'eks-patch-nodegroups',
  summary:
    'move each managed node group of an EKS cluster to the newest AMI release of its Kubernetes version, one group at a time, inside a maintenance window',
  comment:
    'Caretaker EKS node-group patching: lock, plan, each managed node group behind the newest AMI release updated one at a time within the window, unlock, report',
  needsEtcd: false,
  onlyFor: ['eks'],
  substitutions: {
    AcquireLockFunctionArn: 'acquire-lock',
    ReleaseLockFunctionArn: 'release-lock',
    EksPlanPatchFunctionArn: 'eks-plan-patch',
    EksStartUpdateFunctionArn: 'eks-start-update',
    EksCheckUpdateFunctionArn: 'eks-check-update',
    PublishOutcomeFunctionArn: 'publish-outcome',
  },
  input: baseInput.extend({ dryRun: z.boolean().optional() }),
  config: { key: 'eks', schema: eksSchema, resolve: resolveEks },
  schedule: (eks) =>
    eks?.patch.enabled ? { expression: eks.patch.schedule, timeZone: eks.patch.timeZone } : undefined,
  deployedFor: (settings) => settings.some((s) => s !== undefined),
  outcome: {
    afterFailure:
      'The operation lock was released. Node groups already patched stay patched; the steps above list each with its update id.',
  },
  cli: {
    verb: 'eks-patch-nodegroups',
    summary: 'move managed node groups to the newest AMI release of their version, one at a time',
    options: {
      'dry-run': {
        field: 'dryRun',
        type: 'boolean',
        description: 'list the node groups that would move, and to which release; change nothing',
      },
    },
  },
});
