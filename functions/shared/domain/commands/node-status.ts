import * as z from '../../zod';
import { KUBECTL_ABOUT_A_NODE, kubeconfigParameter, nodeCondition, nodeName } from './kubernetes-access';
import { defineCommand } from './spec';

/** node-status lists at most this many not-ready DaemonSet pods */
export const NOT_READY_LIST_CAP = 50;

/** node-status's CARETAKER_RESULT; a Node that does not exist has `exists: false` and defaults */
export const nodeStatusResult = z.object({
  node: z.string(),
  exists: z.boolean(),
  ...nodeCondition,
  /** every DaemonSet pod on the node is Running and Ready (true when there are none) */
  daemonSetPodsReady: z.boolean(),
  /** namespace/name of the DaemonSet pods that are not, at most NOT_READY_LIST_CAP */
  daemonSetPodsNotReady: z.array(z.string()),
});
export type NodeStatusResult = z.infer<typeof nodeStatusResult>;

/** read-only: one Node's readiness, cordon, boot id and the readiness of its DaemonSet pods */
export const nodeStatus = defineCommand({
  name: 'node-status',
  ...KUBECTL_ABOUT_A_NODE,
  args: z.object({ node: nodeName }).strict(),
  result: nodeStatusResult,
  executionTimeoutSeconds: 120,
  parameters: (cluster, args) => ({ ...kubeconfigParameter(cluster), Node: args.node }),
});
