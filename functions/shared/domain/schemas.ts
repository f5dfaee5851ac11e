import * as z from '../zod';

/** shapes that cross a boundary (state machine ↔ Lambda ↔ node script), parsed at each edge */

export const clusterName = z
  .string()
  .regex(/^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/, 'must be a configured cluster name');
export const instanceId = z
  .string()
  .regex(/^(i|mi)-[0-9a-f]{8,17}$/, 'must be an EC2 or managed instance id');
export const executionId = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[A-Za-z0-9:_./-]+$/, 'must be an execution ARN or name');
export const isoTime = z.iso.datetime({ offset: true });
export const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex sha256');

/** the etcd-status document's CARETAKER_RESULT */
export const memberStatus = z.object({
  instanceId,
  healthy: z.boolean(),
  reason: z.string().default(''),
  memberId: z.string().default(''),
  memberName: z.string().optional(),
  isLeader: z.boolean().default(false),
  revision: z.number().int().nonnegative().default(0),
  dbSize: z.number().int().nonnegative().default(0),
  version: z.string().default(''),
  alarms: z.array(z.string()).default([]),
});

/** a Map iteration whose status command failed: the ASL Catch output */
export const memberFailure = z.object({
  instanceId,
  error: z.object({ Error: z.string(), Cause: z.string().optional() }),
});

/** the etcd-snapshot document's CARETAKER_RESULT */
export const snapshotResult = z.object({
  instanceId: instanceId.optional(),
  bucket: z.string().min(3),
  key: z.string().min(1),
  manifestKey: z.string().min(1),
  sha256,
  size: z.number().int().positive(),
  revision: z.number().int().nonnegative(),
  totalKeys: z.number().int().nonnegative().optional(),
  etcdVersion: z.string().optional(),
  memberId: z.string().optional(),
  takenAt: z.string().optional(),
  durationMs: z.number().nonnegative().optional(),
});
export type SnapshotResult = z.infer<typeof snapshotResult>;

/** the manifest written beside each snapshot; only the fields Caretaker checks are required */
export const manifest = z
  .object({
    formatVersion: z.literal(1),
    cluster: clusterName,
    key: z.string(),
    sha256,
    size: z.number().int().positive(),
    revision: z.number().int().nonnegative(),
    totalKeys: z.number().int().nonnegative(),
    keyCounts: z.record(z.string(), z.number().int().nonnegative()),
    takenAt: z.string(),
  })
  .loose();
export type Manifest = z.infer<typeof manifest>;

/** the etcd-restore-verify document's CARETAKER_RESULT */
export const verificationResult = z.object({
  instanceId: instanceId.optional(),
  key: z.string(),
  verified: z.boolean(),
  failedCheck: z.string().default(''),
  reason: z.string().default(''),
  checks: z
    .array(
      z.object({
        name: z.string(),
        ok: z.boolean().nullable(),
        /** milliseconds since the previous check: where a slow verification spends its time */
        ms: z.number().nonnegative().optional(),
        detail: z.string().default(''),
      }),
    )
    .default([]),
  revision: z.number().int().nonnegative().optional(),
  totalKeys: z.number().int().nonnegative().optional(),
  restoreSeconds: z.number().nonnegative().optional(),
  etcdVersion: z.string().optional(),
});
export type VerificationResult = z.infer<typeof verificationResult>;
