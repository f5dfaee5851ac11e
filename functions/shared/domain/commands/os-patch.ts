import * as z from '../../zod';
import { DEFAULT_DELIVERY_TIMEOUT_SECONDS, defineCommand } from './spec';

/** os-patch lists at most this many changed packages */
export const CHANGED_PACKAGES_CAP = 50;
export const PACKAGE_MANAGERS = ['apt', 'dnf', 'yum', 'zypper'] as const;

/** os-patch's and os-patch-baseline's CARETAKER_RESULT */
export const osPatchResult = z.object({
  /** the package manager used, or patch-baseline (AWS-RunPatchBaseline did the installing) */
  manager: z.enum([...PACKAGE_MANAGERS, 'patch-baseline']),
  /** packages installed or upgraded (-1: patch-baseline, which does not say) */
  packages: z.number().int().min(-1),
  /** their names, at most CHANGED_PACKAGES_CAP */
  changed: z.array(z.string()),
  /** the node said a reboot is needed (or policy `always`) */
  rebootRequired: z.boolean(),
  /** the node was rebooted by this command (exit 194, then this report after the reboot) */
  rebooted: z.boolean(),
  bootIdBefore: z.string(),
  bootIdAfter: z.string(),
});
export type OsPatchResult = z.infer<typeof osPatchResult>;

/** `if-required`: the node's own signal; `always`; `never` (a pending reboot is reported, not done) */
export const rebootPolicy = z.enum(['if-required', 'always', 'never']);

/**
 * Patch the node it runs on with its own package manager (apt, dnf, yum or zypper, detected),
 * security-only or everything, non-interactively; reboot when policy and the node say so (the
 * script exits 194, SSM reboots and runs it again, and the second run reports). For
 * `method: patch-baseline` use os-patch-baseline (a different document).
 */
export const osPatch = defineCommand({
  name: 'os-patch',
  target: 'node',
  subject: 'self',
  needs: [],
  args: z
    .object({
      method: z.literal('package-manager').default('package-manager'),
      scope: z.enum(['security', 'all']),
      reboot: rebootPolicy,
    })
    .strict(),
  result: osPatchResult,
  executionTimeoutSeconds: 3600,
  deliveryTimeoutSeconds: DEFAULT_DELIVERY_TIMEOUT_SECONDS,
  parameters: (_cluster, args) => ({ Scope: args.scope, Reboot: args.reboot }),
});

/** AWS-RunPatchBaseline's own runShellScript step may run this long (its timeoutSeconds) */
export const PATCH_BASELINE_TIMEOUT_SECONDS = 7200;
/** our reboot-check step after it (os-patch-baseline.yaml) */
export const PATCH_BASELINE_CHECK_TIMEOUT_SECONDS = 600;

/**
 * AWS-RunPatchBaseline (Operation Install, RebootOption NoReboot) through aws:runDocument in
 * Caretaker's own document, then Caretaker's reboot check, which reboots by the same rules as
 * os-patch. What is installed is the patch baseline's business: `scope` is not used.
 */
export const osPatchBaseline = defineCommand({
  name: 'os-patch-baseline',
  target: 'node',
  subject: 'self',
  needs: [],
  args: z
    .object({
      method: z.literal('patch-baseline').default('patch-baseline'),
      /** accepted so both commands take the same args; the patch baseline decides */
      scope: z.enum(['security', 'all']).optional(),
      reboot: rebootPolicy,
    })
    .strict(),
  result: osPatchResult,
  executionTimeoutSeconds: PATCH_BASELINE_TIMEOUT_SECONDS + PATCH_BASELINE_CHECK_TIMEOUT_SECONDS,
  deliveryTimeoutSeconds: DEFAULT_DELIVERY_TIMEOUT_SECONDS,
  parameters: (_cluster, args) => ({ Reboot: args.reboot }),
});
