import * as z from '../zod';
import { parseCron } from '../domain/patching/window';
import { releaseVersion } from '../domain/commands/control-plane-schemas';
import { executionId } from '../domain/schemas';
import { baseInput, defineWorkflow } from './workflow';

/** why the window's start cannot be computed, or undefined */
function windowProblem(schedule: string): string | undefined {
  try {
    parseCron(schedule);
    return undefined;
  } catch (e) {
    return `${(e as Error).message}; a maintenance window starts at a cron(...) time`;
  }
}

/** a number of nodes, or a share of them: `3` or `"10%"` */
export type CountOrPercent = number | `${number}%`;

export type PdbTimeoutPolicy = 'fail' | 'skip-node' | 'disable-eviction';
export type RebootPolicy = 'if-required' | 'always' | 'never';
export type PatchMethod = 'package-manager' | 'patch-baseline';
export type PatchScope = 'security' | 'all';

export interface PatchingSettings {
  /** scheduled runs start at the window's start; off until the block says otherwise */
  enabled: boolean;
  window: {
    /** when the window opens (EventBridge cron or rate), in timeZone */
    schedule: string;
    durationMinutes: number;
    timeZone: string;
    /** a node starts only while at least this much of the window is left */
    nodeMinutes: number;
  };
  maxUnavailable: CountOrPercent;
  errorBudget: CountOrPercent;
  drain: {
    timeoutSeconds: number;
    /** -1: each pod's own terminationGracePeriodSeconds */
    gracePeriodSeconds: number;
    deleteEmptyDirData: boolean;
    onPdbTimeout: PdbTimeoutPolicy;
    /** disable-eviction: how long a second, PDB-respecting drain waits before eviction is disabled */
    disableEvictionAfterSeconds: number;
    /** kubectl drain --force: also delete pods no controller manages (they are gone for good) */
    force: boolean;
  };
  reboot: RebootPolicy;
  method: PatchMethod;
  scope: PatchScope;
  blockers: {
    /** CloudWatch alarms that must not be in ALARM when a node starts */
    alarms: string[];
    /** a node label (`key` or `key=value`) that holds a node */
    holdLabel: string;
    /** pods matching this selector hold the node they run on; empty: none */
    holdPodSelector: string;
  };
  /** a node patched within this many days counts as patched and is skipped */
  patchedWithinDays: number;
  health: {
    /** how long an uncordoned node must stay Ready, its DaemonSet pods Ready, before it counts */
    readySeconds: number;
    /** how long to wait for a rebooted node to come back Ready with a new boot id */
    returnTimeoutSeconds: number;
  };
}

/** the settings a cluster without a `patching` block gets for manual and dry runs */
export function patchingSettings(cluster: { patching?: PatchingSettings }): PatchingSettings {
  return cluster.patching ?? { enabled: false, ...PATCHING_DEFAULTS };
}

export const PATCHING_DEFAULTS: Omit<PatchingSettings, 'enabled'> = {
  // Sunday 02:00 for four hours
  window: { schedule: 'cron(0 2 ? * SUN *)', durationMinutes: 240, timeZone: 'UTC', nodeMinutes: 30 },
  maxUnavailable: 1,
  errorBudget: 1,
  drain: {
    timeoutSeconds: 600,
    gracePeriodSeconds: -1,
    deleteEmptyDirData: true,
    onPdbTimeout: 'fail',
    disableEvictionAfterSeconds: 900,
    force: false,
  },
  reboot: 'if-required',
  method: 'package-manager',
  scope: 'security',
  blockers: { alarms: [], holdLabel: 'caretaker.io/hold', holdPodSelector: '' },
  patchedWithinDays: 7,
  health: { readySeconds: 60, returnTimeoutSeconds: 1200 },
};

const countOrPercent = z.union([
  z.number().int().min(0).max(100_000),
  z.string().regex(/^(100|[1-9]?\d)%$/, 'must be a count (3) or a percentage from 0% to 100% ("10%")'),
]);

const labelKey = /^([a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?\/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/;

/** lock(workers) → inventory → plan → per node: gate, cordon, drain, patch, back Ready, uncordon, health → sweep */
export const patchWorkers = defineWorkflow({
  name: 'patch-workers',
  summary:
    'patch worker OSes in a sliding window: cordon, drain, patch, reboot if required, wait Ready, uncordon, health gate; resumable across maintenance windows',
  comment:
    'Caretaker worker OS patching: lock the workers, plan from EC2 and the Nodes, then per node in a sliding window (Distributed Map): gate, cordon, drain, patch, reboot if required, back Ready, uncordon, health gate, record; sweep, report',
  needsEtcd: false,
  substitutions: {
    AcquireLockFunctionArn: 'acquire-lock',
    ReleaseLockFunctionArn: 'release-lock',
    PreparePatchFunctionArn: 'prepare-patch',
    SendCommandFunctionArn: 'send-command',
    PlanPatchFunctionArn: 'plan-patch',
    CheckPatchGateFunctionArn: 'check-patch-gate',
    RecordPatchFunctionArn: 'record-patch',
    FinishPatchFunctionArn: 'finish-patch',
    PublishOutcomeFunctionArn: 'publish-outcome',
  },
  input: baseInput.extend({
    /** plan and report only: no lock, no cordon, nothing changed */
    dryRun: z.boolean().optional(),
    /** a manual run outside the maintenance window: the run gets one window's length from now */
    now: z.boolean().optional(),
    /**
     * upgrade the workers' kubelet and kubectl to this release (kubeadm upgrade node, packages,
     * kubelet restart) instead of patching the OS; never newer than the API server
     */
    kubernetesVersion: releaseVersion.optional(),
    /**
     * the execution whose lease this run works under (set by upgrade-control-plane, which holds
     * the worker lock); such a run ignores the maintenance window: a person approved the upgrade
     */
    parentOwner: executionId.optional(),
  }),
  config: {
    key: 'patching',
    schema: (f) =>
      z
        .object({
          enabled: z.boolean().optional(),
          window: z
            .object({
              schedule: f.schedule.optional(),
              durationMinutes: z.number().int().min(15).max(1440).optional(),
              timeZone: f.timeZone.optional(),
              nodeMinutes: z.number().int().min(1).max(720).optional(),
            })
            .strict()
            .optional(),
          maxUnavailable: countOrPercent.optional(),
          errorBudget: countOrPercent.optional(),
          drain: z
            .object({
              /** node-drain allows at most 3600 s (its document runs 3900 s) */
              timeoutSeconds: z.number().int().min(30).max(3600).optional(),
              gracePeriodSeconds: z.number().int().min(-1).max(3600).optional(),
              deleteEmptyDirData: z.boolean().optional(),
              onPdbTimeout: z.enum(['fail', 'skip-node', 'disable-eviction']).optional(),
              disableEvictionAfterSeconds: z.number().int().min(1).max(3600).optional(),
              force: z.boolean().optional(),
            })
            .strict()
            .optional(),
          reboot: z.enum(['if-required', 'always', 'never']).optional(),
          method: z.enum(['package-manager', 'patch-baseline']).optional(),
          scope: z.enum(['security', 'all']).optional(),
          blockers: z
            .object({
              alarms: z
                .array(z.string().regex(/^[^\s][\x20-\x7e]{0,254}$/, 'must be a CloudWatch alarm name'))
                .max(100)
                .optional(),
              holdLabel: z
                .string()
                .refine((s) => {
                  const [key = '', value] = s.split('=', 2);
                  return labelKey.test(key) && (value === undefined || /^[A-Za-z0-9._-]{0,63}$/.test(value));
                }, 'must be a label key or key=value, such as caretaker.io/hold')
                .optional(),
              holdPodSelector: z
                .string()
                .regex(/^[A-Za-z0-9./_=!, -]{0,256}$/, 'must be a label selector such as app=batch')
                .optional(),
            })
            .strict()
            .optional(),
          patchedWithinDays: z.number().int().min(0).max(365).optional(),
          health: z
            .object({
              readySeconds: z.number().int().min(0).max(3600).optional(),
              returnTimeoutSeconds: z.number().int().min(60).max(7200).optional(),
            })
            .strict()
            .optional(),
        })
        .strict(),
    // no block: undefined (nothing scheduled); manual and dry runs use PATCHING_DEFAULTS
    resolve: (block, c): PatchingSettings | undefined => {
      const d = PATCHING_DEFAULTS;
      if (!block) return undefined;
      if (c.kind === 'eks') {
        c.problems.push(
          `${c.at}.patching: EKS workers are patched through node groups, not drained from a control-plane node; remove this block`,
        );
      }
      const settings: PatchingSettings = {
        enabled: block.enabled ?? true,
        window: { ...d.window, ...block.window },
        maxUnavailable: (block.maxUnavailable as CountOrPercent | undefined) ?? d.maxUnavailable,
        errorBudget: (block.errorBudget as CountOrPercent | undefined) ?? d.errorBudget,
        drain: { ...d.drain, ...block.drain },
        reboot: block.reboot ?? d.reboot,
        method: block.method ?? d.method,
        scope: block.scope ?? d.scope,
        blockers: {
          alarms: block.blockers?.alarms ?? d.blockers.alarms,
          holdLabel: block.blockers?.holdLabel ?? d.blockers.holdLabel,
          holdPodSelector: block.blockers?.holdPodSelector ?? d.blockers.holdPodSelector,
        },
        patchedWithinDays: block.patchedWithinDays ?? d.patchedWithinDays,
        health: { ...d.health, ...block.health },
      };
      if (settings.maxUnavailable === 0 || settings.maxUnavailable === '0%') {
        c.problems.push(`${c.at}.patching.maxUnavailable: must allow at least one node (1 or "1%" or more)`);
      }
      const cronProblem = windowProblem(settings.window.schedule);
      if (cronProblem) c.problems.push(`${c.at}.patching.window.schedule: ${cronProblem}`);
      if (settings.window.nodeMinutes > settings.window.durationMinutes) {
        c.problems.push(
          `${c.at}.patching.window.nodeMinutes: ${settings.window.nodeMinutes} is longer than the window (${settings.window.durationMinutes} minutes); no node could ever start`,
        );
      }
      return settings;
    },
  },
  schedule: (p) => (p?.enabled ? { expression: p.window.schedule, timeZone: p.window.timeZone } : undefined),
  // deployed where some cluster has a patching block (`"patching": {}` takes every default)
  deployedFor: (settings) => settings.some((p) => p !== undefined),
  outcome: {
    afterFailure:
      'The worker lock was released. Every node Caretaker cordoned is named above with its state; a node left cordoned says why and the command that undoes it.',
  },
  cli: {
    verb: 'patch',
    summary: 'patch the worker nodes now (or plan only with --dry-run)',
    options: {
      'dry-run': {
        field: 'dryRun',
        type: 'boolean',
        description: 'plan and report which nodes would be patched, change nothing',
      },
      now: {
        field: 'now',
        type: 'boolean',
        description: 'run outside the maintenance window, for one window length from now',
      },
      'kubernetes-version': {
        field: 'kubernetesVersion',
        type: 'string',
        value: 'VERSION',
        description:
          "upgrade the workers' kubelets to this release (such as v1.37.2) instead of patching the OS",
      },
    },
  },
});
