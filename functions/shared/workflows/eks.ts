/**
 * The `eks` block of an EKS cluster in caretaker.config.json, shared by the two EKS workflows
 * (eks-upgrade and eks-patch-nodegroups): one block, so a user configures EKS in one place.
 */
import * as z from '../zod';
import type { ConfigFields, ResolveContext } from './workflow';

/** Sunday 03:00 in the block's time zone: a quiet hour for a node-group patch window */
export const EKS_PATCH_SCHEDULE_DEFAULT = 'cron(0 3 ? * SUN *)';

export interface EksSettings {
  /** UpdateNodegroupVersion `force`: replace nodes even when pods cannot be evicted (PDBs) */
  forceNodegroupUpdate: boolean;
  /** free IP addresses the cluster's subnets need before a control-plane update */
  minFreeIps: number;
  /** how long each kind of update may take before the campaign stops waiting and fails */
  timeoutMinutes: { controlPlane: number; addon: number; nodegroup: number };
  /** node-group patching to the newest AMI release, inside a maintenance window */
  patch: { enabled: boolean; schedule: string; timeZone: string; windowMinutes: number };
}

export const EKS_DEFAULTS = {
  forceNodegroupUpdate: false,
  minFreeIps: 5,
  timeoutMinutes: { controlPlane: 90, addon: 30, nodegroup: 180 },
  patchWindowMinutes: 240,
} as const;

export const eksSchema = (f: ConfigFields) =>
  z
    .object({
      forceNodegroupUpdate: z.boolean().optional(),
      minFreeIps: z.number().int().min(0).max(1000).optional(),
      timeoutMinutes: z
        .object({
          controlPlane: z.number().int().min(10).max(600).optional(),
          addon: z.number().int().min(5).max(600).optional(),
          nodegroup: z.number().int().min(10).max(1440).optional(),
        })
        .strict()
        .optional(),
      patch: z
        .object({
          enabled: z.boolean().optional(),
          schedule: f.schedule.optional(),
          timeZone: f.timeZone.optional(),
          /** no node group update starts later than this many minutes after the window opened */
          windowMinutes: z.number().int().min(30).max(1440).optional(),
        })
        .strict()
        .optional(),
    })
    .strict();

export type EksBlock = z.output<ReturnType<typeof eksSchema>>;

/** the block with its defaults; undefined for a cluster that is not EKS (which may not have one) */
export function resolveEks(block: EksBlock | undefined, c: ResolveContext): EksSettings | undefined {
  if (c.kind !== 'eks') {
    if (block) c.problems.push(`${c.at}.eks: only EKS clusters (kind "eks") take an eks block; remove it`);
    return undefined;
  }
  return {
    forceNodegroupUpdate: block?.forceNodegroupUpdate ?? EKS_DEFAULTS.forceNodegroupUpdate,
    minFreeIps: block?.minFreeIps ?? EKS_DEFAULTS.minFreeIps,
    timeoutMinutes: { ...EKS_DEFAULTS.timeoutMinutes, ...block?.timeoutMinutes },
    patch: {
      enabled: block?.patch ? (block.patch.enabled ?? true) : false,
      schedule: block?.patch?.schedule ?? EKS_PATCH_SCHEDULE_DEFAULT,
      timeZone: block?.patch?.timeZone ?? 'UTC',
      windowMinutes: block?.patch?.windowMinutes ?? EKS_DEFAULTS.patchWindowMinutes,
    },
  };
}

/** a Kubernetes minor version as a workflow input: `1.32` */
export const kubernetesMinor = z
  .string()
  .regex(/^\d{1,2}\.\d{1,3}$/, 'must be a Kubernetes minor version such as 1.32');
