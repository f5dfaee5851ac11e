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

/** the tool that read the snapshot file: etcdutl where it exists (etcd 3.5+), etcdctl on 3.4 */
export const snapshotTool = z.object({
  name: z.enum(['etcdutl', 'etcdctl']),
  version: z.string().regex(/^\d+\.\d+\.\d+$/, 'must be a version such as 3.6.16'),
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
  snapshotTool: snapshotTool.optional(),
  memberId: z.string().optional(),
  takenAt: z.string().optional(),
  durationMs: z.number().nonnegative().optional(),
});
export type SnapshotResult = z.infer<typeof snapshotResult>;

/** fields a formatVersion 2 manifest must have (1 predates them) */
const MANIFEST_V2_FIELDS = [
  'etcdVersion',
  'storageVersion',
  'snapshotTool',
  'etcdPrefix',
  'snapshotStatus',
] as const;

/**
 * the manifest written beside each snapshot; only the fields Caretaker checks are required.
 * formatVersion 2 adds the storage version (null where etcd does not report it), the tool that
 * read the snapshot, the API server's etcd prefix the counts are under, and requires etcd's own
 * snapshot status; formatVersion 1 manifests still parse.
 */
export const manifest = z
  .object({
    formatVersion: z.union([z.literal(1), z.literal(2)]),
    cluster: clusterName,
    key: z.string(),
    sha256,
    size: z.number().int().positive(),
    revision: z.number().int().nonnegative(),
    totalKeys: z.number().int().nonnegative(),
    keyCounts: z.record(z.string(), z.number().int().nonnegative()),
    takenAt: z.string(),
    /** which etcd: `etcd` (the API server's; absent in older manifests) or `etcd-events` (kops' events etcd) */
    kind: z.enum(['etcd', 'etcd-events']).optional(),
    etcdVersion: z.string().optional(),
    storageVersion: z.string().nullable().optional(),
    snapshotTool: snapshotTool.optional(),
    etcdPrefix: z
      .string()
      .regex(/^(\/[A-Za-z0-9._-]{1,63}){1,4}$/, 'must be an etcd prefix such as /registry')
      .optional(),
    snapshotStatus: z
      .object({
        hash: z.number().int().nonnegative(),
        revision: z.number().int().nonnegative(),
        totalKey: z.number().int().nonnegative(),
        totalSize: z.number().int().nonnegative(),
      })
      .optional(),
  })
  .loose()
  .superRefine((m, ctx) => {
    if (m.formatVersion !== 2) return;
    for (const field of MANIFEST_V2_FIELDS) {
      if (m[field] === undefined) {
        ctx.addIssue({ code: 'custom', path: [field], message: 'is required in a formatVersion 2 manifest' });
      }
    }
  });
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
  // null: the run stopped before the restore (a damaged download, a bad manifest): still a verdict
  revision: z.number().int().nonnegative().nullable().optional(),
  totalKeys: z.number().int().nonnegative().nullable().optional(),
  restoreSeconds: z.number().nonnegative().nullable().optional(),
  etcdVersion: z.string().optional(),
  /** the tool that read and restored the snapshot (null: the run stopped before choosing one) */
  restoreTool: z.object({ name: z.string(), version: z.string() }).nullable().optional(),
  /** `--bump-revision` of the restore (etcdutl: 1000000000; etcdctl on 3.4: 0) */
  revisionBump: z.number().int().nonnegative().optional(),
});
export type VerificationResult = z.infer<typeof verificationResult>;
