import * as z from '../../zod';
import { KUBECTL_ABOUT_A_NODE, kubeconfigParameter, nodeName, owner } from './kubernetes-access';
import { defineCommand } from './spec';

/** node-cordon's CARETAKER_RESULT */
export const nodeCordonResult = z.object({
  node: z.string(),
  unschedulable: z.boolean(),
  /** the owner in caretaker.io/cordoned-by after the command; absent when no Caretaker run holds it */
  cordonedBy: z.string().optional(),
  /** false: nothing was changed (already so, or cordoned by someone else: see `reason`) */
  changed: z.boolean(),
  /** why nothing changed, when that matters: "cordoned by someone else", "cordoned by <owner>" */
  reason: z.string().optional(),
});
export type NodeCordonResult = z.infer<typeof nodeCordonResult>;

/**
 * Cordon or uncordon a Node, only ever Caretaker's own cordon: `cordon` sets unschedulable and
 * the caretaker.io/cordoned-by annotation (a node someone else cordoned is left alone and
 * reported), `uncordon` only when the annotation names `owner`.
 */
export const nodeCordon = defineCommand({
  name: 'node-cordon',
  ...KUBECTL_ABOUT_A_NODE,
  args: z
    .object({
      node: nodeName,
      action: z.enum(['cordon', 'uncordon']),
      owner,
    })
    .strict(),
  result: nodeCordonResult,
  executionTimeoutSeconds: 120,
  parameters: (cluster, args) => ({
    ...kubeconfigParameter(cluster),
    Node: args.node,
    Action: args.action,
    Owner: args.owner,
  }),
});
