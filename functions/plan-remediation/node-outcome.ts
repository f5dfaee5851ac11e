import * as z from '../shared/zod';

/** how one node's branch of node-notready ended, as the ASL's last state of the branch says */
export const nodeOutcome = z.union([
  z.object({ node: z.string(), instanceId: z.string(), outcome: z.literal('ready-after-reboot') }),
  z.object({
    node: z.string(),
    instanceId: z.string(),
    outcome: z.literal('replaced'),
    group: z.string(),
    drained: z.boolean().optional(),
  }),
  z.object({
    node: z.string(),
    instanceId: z.string(),
    outcome: z.literal('no-auto-scaling-group'),
    drained: z.boolean().optional(),
  }),
]);
