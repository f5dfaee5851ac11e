import * as z from '../../zod';
import { KUBECTL_ABOUT_A_NODE, kubeconfigParameter, nodeName, owner } from './kubernetes-access';
import { defineCommand } from './spec';

/** the patch summary: short, and nothing a shell or an annotation would mind */
export const PATCH_SUMMARY_PATTERN = '^[A-Za-z0-9._:,=+@/-]{0,200}$';
/** an ISO 8601 UTC time, as Date.toISOString writes it (milliseconds optional) */
export const PATCHED_AT_PATTERN = '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?Z$';

/** node-record's CARETAKER_RESULT */
export const nodeRecordResult = z.object({ node: z.string(), patchedAt: z.string() });
export type NodeRecordResult = z.infer<typeof nodeRecordResult>;

/**
 * Records a patch on the Node: caretaker.io/patched-at, caretaker.io/patched-by and
 * caretaker.io/patch-summary annotations (the EC2 tag is a Lambda's job).
 */
export const nodeRecord = defineCommand({
  name: 'node-record',
  ...KUBECTL_ABOUT_A_NODE,
  args: z
    .object({
      node: nodeName,
      patchedAt: z.string().regex(new RegExp(PATCHED_AT_PATTERN), 'must be an ISO time in UTC (…Z)'),
      packages: z.number().int().min(0).max(999_999),
      summary: z
        .string()
        .regex(
          new RegExp(PATCH_SUMMARY_PATTERN),
          'must be at most 200 of letters, digits and . _ : , = + @ / - (no spaces)',
        ),
      owner,
    })
    .strict(),
  result: nodeRecordResult,
  executionTimeoutSeconds: 120,
  parameters: (cluster, args) => ({
    ...kubeconfigParameter(cluster),
    Node: args.node,
    PatchedAt: args.patchedAt,
    Packages: String(args.packages),
    Summary: args.summary,
    Owner: args.owner,
  }),
});
