import * as z from '../zod';
import { eksSchema, kubernetesMinor, resolveEks } from './eks';
import { baseInput, defineWorkflow } from './workflow';

/**
 * lock → preflight (insights, add-ons, skew, subnets) → dry run stops → approval →
 * control plane → each add-on → each managed node group → unlock → report
 */
export const eksUpgrade = defineWorkflow({
  name: 'eks-upgrade',
  summary:
    'upgrade an EKS cluster one minor: preflight from upgrade insights, approval, control plane, each add-on, each managed node group',
  comment:
    'Caretaker EKS upgrade campaign: lock, preflight, approval, UpdateClusterVersion, add-ons one at a time, managed node groups one at a time, unlock, report',
  needsEtcd: false,
  onlyFor: ['eks'],
  substitutions: {
    AcquireLockFunctionArn: 'acquire-lock',
    ReleaseLockFunctionArn: 'release-lock',
    EksPreflightFunctionArn: 'eks-preflight',
    RequestApprovalFunctionArn: 'request-approval',
    EksStartUpdateFunctionArn: 'eks-start-update',
    EksCheckUpdateFunctionArn: 'eks-check-update',
    PublishOutcomeFunctionArn: 'publish-outcome',
  },
  // version: the target minor (default: the cluster's next); dryRun: stop after the preflight
  input: baseInput.extend({ version: kubernetesMinor.optional(), dryRun: z.boolean().optional() }),
  config: { key: 'eks', schema: eksSchema, resolve: resolveEks },
  // upgrades are asked for, never scheduled
  schedule: () => undefined,
  deployedFor: (settings) => settings.some((s) => s !== undefined),
  outcome: {
    afterFailure:
      'The operation lock was released. EKS updates already Successful stay (EKS cannot roll them back); the steps above list each with its update id. Fix the cause and run eks-upgrade again: finished steps are skipped.',
  },
  cli: {
    verb: 'eks-upgrade',
    summary: 'upgrade an EKS cluster to the next minor (or --version), after preflight and approval',
    options: {
      version: {
        field: 'version',
        type: 'string',
        value: 'MINOR',
        description: 'the Kubernetes minor to go to, at most one ahead (default: the next one)',
      },
      'dry-run': {
        field: 'dryRun',
        type: 'boolean',
        description: 'run the preflight and report what would change; change nothing',
      },
    },
  },
});
