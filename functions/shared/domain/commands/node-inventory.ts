import * as z from '../../zod';
import { kubeconfigParameter, nodeCondition } from './kubernetes-access';
import { DEFAULT_DELIVERY_TIMEOUT_SECONDS, defineCommand } from './spec';

/** where the list goes: a key under the cluster's prefix */
export const INVENTORY_KEY_PATTERN = '^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?/[A-Za-z0-9._/-]{1,512}$';
/** an equality-based label selector (app=x,tier!=y,!canary); empty: no pod holds a node */
export const POD_SELECTOR_PATTERN = '^[A-Za-z0-9._/=,!-]{0,512}$';
/** heldByPods lists at most this many pods per node */
export const HELD_BY_PODS_CAP = 20;

/** one Node in the list node-inventory writes to S3 */
export const inventoryNode = z.object({
  name: z.string(),
  providerID: z.string(),
  /** from providerID aws:///<az>/<instance-id>; empty when the node is not an EC2 instance */
  instanceId: z.string(),
  availabilityZone: z.string(),
  labels: z.record(z.string(), z.string()),
  /** only the caretaker.io/* annotations */
  annotations: z.record(z.string(), z.string()),
  ...nodeCondition,
  /** namespace/name of the pods matching the podSelector on this node, at most HELD_BY_PODS_CAP */
  heldByPods: z.array(z.string()),
});
export type InventoryNode = z.infer<typeof inventoryNode>;
/** the object node-inventory writes: a JSON array of {@link inventoryNode} */
export const inventoryList = z.array(inventoryNode);

/** node-inventory's CARETAKER_RESULT; the list itself is in S3 under `key` */
export const nodeInventoryResult = z.object({
  key: z.string(),
  nodes: z.number().int().nonnegative(),
  /** the API server's gitVersion (`v1.37.2`); empty when /version did not answer */
  apiServerVersion: z.string().default(''),
});
export type NodeInventoryResult = z.infer<typeof nodeInventoryResult>;

/**
 * Every Node, one compact entry each, written as a JSON array to s3://<bucket>/<key>: stdout
 * stays small however many nodes there are (5,000 fit the time budget).
 */
export const nodeInventory = defineCommand({
  name: 'node-inventory',
  target: 'control-plane',
  subject: 'self',
  needs: ['kubernetes'],
  args: z
    .object({
      key: z.string().regex(new RegExp(INVENTORY_KEY_PATTERN), 'must be an S3 key <cluster>/…'),
      podSelector: z
        .string()
        .regex(new RegExp(POD_SELECTOR_PATTERN), 'must be an equality-based label selector (app=x,tier!=y)')
        .optional(),
    })
    .strict(),
  checkArgs: (args, cluster) => {
    const problems: string[] = [];
    if (!args.key.startsWith(`${cluster}/`)) problems.push(`key: "${args.key}" is not under ${cluster}/`);
    if (args.key.split('/').some((part) => part === '..' || part === '.' || part === ''))
      problems.push(`key: "${args.key}" has an empty, . or .. path segment`);
    return problems;
  },
  result: nodeInventoryResult,
  executionTimeoutSeconds: 600,
  deliveryTimeoutSeconds: DEFAULT_DELIVERY_TIMEOUT_SECONDS,
  parameters: (cluster, args, context) => ({
    ...kubeconfigParameter(cluster),
    Bucket: context.bucket,
    Key: args.key,
    PodSelector: args.podSelector ?? '',
  }),
});
