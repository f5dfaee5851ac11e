import * as z from '../../zod';
import { KUBECTL_ABOUT_A_NODE, kubeconfigParameter, nodeName } from './kubernetes-access';
import { defineCommand } from './spec';

/** the longest drain the document's execution timeout covers (the config's limit) */
export const MAX_DRAIN_TIMEOUT_SECONDS = 3600;
/** the longest grace period a drain may give a pod */
export const MAX_DRAIN_GRACE_PERIOD_SECONDS = 3600;
/** evicted and blockedBy are cut to this many entries, so stdout stays small */
export const DRAIN_LIST_CAP = 50;

/** node-drain's CARETAKER_RESULT */
export const nodeDrainResult = z.object({
  node: z.string(),
  /** true: no pod but DaemonSet pods (and mirror pods) is left on the node */
  drained: z.boolean(),
  /** namespace/name of each pod evicted or deleted, at most DRAIN_LIST_CAP */
  evicted: z.array(z.string()),
  /** pods still there when the timeout ran out, and why (a PodDisruptionBudget, …) */
  blockedBy: z.array(z.object({ pod: z.string(), reason: z.string() })),
  /** more entries than the lists carry */
  truncated: z.boolean().optional(),
});
export type NodeDrainResult = z.infer<typeof nodeDrainResult>;

/**
 * `kubectl drain --ignore-daemonsets` of one Node (cordoned first by node-cordon). PDBs are
 * respected through the Eviction API unless `disableEviction`. A drain still blocked at the
 * timeout exits 0 with `drained: false` and the blocking pods named: the workflow decides
 * (fail, skip-node, disable-eviction).
 */
export const nodeDrain = defineCommand({
  name: 'node-drain',
  ...KUBECTL_ABOUT_A_NODE,
  args: z
    .object({
      node: nodeName,
      timeoutSeconds: z.number().int().min(1).max(MAX_DRAIN_TIMEOUT_SECONDS),
      /** -1: each pod's own terminationGracePeriodSeconds */
      gracePeriodSeconds: z.number().int().min(-1).max(MAX_DRAIN_GRACE_PERIOD_SECONDS),
      deleteEmptyDirData: z.boolean(),
      disableEviction: z.boolean(),
      /** `kubectl drain --force`: also delete pods no controller manages (they are not recreated) */
      force: z.boolean().default(false),
    })
    .strict(),
  result: nodeDrainResult,
  // the longest drain, plus the listing before and after it
  executionTimeoutSeconds: MAX_DRAIN_TIMEOUT_SECONDS + 300,
  parameters: (cluster, args) => ({
    ...kubeconfigParameter(cluster),
    Node: args.node,
    TimeoutSeconds: String(args.timeoutSeconds),
    GracePeriodSeconds: String(args.gracePeriodSeconds),
    DeleteEmptyDirData: String(args.deleteEmptyDirData),
    DisableEviction: String(args.disableEviction),
    Force: String(args.force),
  }),
});
