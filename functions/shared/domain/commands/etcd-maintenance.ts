import * as z from '../../zod';
import { ETCD_QUOTA_DEFAULT } from '../config';
import { instanceId } from '../schemas';
import { etcdAccessParameters, etcdOf } from './etcd-access';
import { DEFAULT_DELIVERY_TIMEOUT_SECONDS, defineCommand } from './spec';

export const MAINTENANCE_ACTIONS = ['compact', 'defrag', 'disarm'] as const;

/** disarm NOSPACE only when every member's database is under this percent of the quota */
export const SPACE_BACK_PERCENT = 80;

/**
 * One maintenance action on the node's etcd member: compact (cluster-wide), defrag (this member
 * only, then wait for every member to be healthy: the gate between members), disarm (NOSPACE
 * once space is back, never CORRUPT). The remediate workflow sends it to one member at a time.
 */
export const etcdMaintenance = defineCommand({
  name: 'etcd-maintenance',
  target: 'control-plane',
  subject: 'self',
  needs: ['etcd'],
  args: z.object({ action: z.enum(MAINTENANCE_ACTIONS) }).strict(),
  result: z.union([
    z.object({
      instanceId,
      action: z.literal('compact'),
      memberId: z.string(),
      revision: z.number().int().nonnegative(),
      compacted: z.boolean(),
    }),
    z.object({
      instanceId,
      action: z.literal('defrag'),
      memberId: z.string(),
      dbSizeBefore: z.number().int().nonnegative(),
      dbSizeAfter: z.number().int().nonnegative(),
      seconds: z.number().int().nonnegative(),
      clusterHealthy: z.literal(true),
    }),
    z.object({
      instanceId,
      action: z.literal('disarm'),
      memberId: z.string(),
      disarmed: z.boolean(),
      reason: z.string(),
      largestDbSize: z.number().int().nonnegative(),
      alarmsBefore: z.array(z.string()),
      alarmsAfter: z.array(z.string()),
    }),
  ]),
  executionTimeoutSeconds: 900,
  deliveryTimeoutSeconds: DEFAULT_DELIVERY_TIMEOUT_SECONDS,
  parameters: (cluster, args) => {
    const etcd = etcdOf(cluster);
    return {
      ...etcdAccessParameters(etcd),
      Action: args.action,
      QuotaBytes: String(etcd.quotaBackendBytes ?? ETCD_QUOTA_DEFAULT),
      SpaceBackPercent: String(SPACE_BACK_PERCENT),
    };
  },
});
