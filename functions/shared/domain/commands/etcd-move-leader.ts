import * as z from '../../zod';
import { etcdAccessParameters, etcdOf } from './etcd-access';
import { moveLeaderResult } from './control-plane-schemas';
import { DEFAULT_DELIVERY_TIMEOUT_SECONDS, defineCommand } from './spec';

/**
 * If the node's own member leads etcd, hands leadership to a healthy follower (etcdctl
 * move-leader) before the node is disrupted: a leader that goes away forces an election, with
 * writes stalled meanwhile. A follower does nothing. Fails when it leads and no follower is healthy.
 */
export const etcdMoveLeader = defineCommand({
  name: 'etcd-move-leader',
  target: 'control-plane',
  subject: 'self',
  needs: ['etcd'],
  args: z.object({}).strict(),
  result: moveLeaderResult,
  executionTimeoutSeconds: 120,
  deliveryTimeoutSeconds: DEFAULT_DELIVERY_TIMEOUT_SECONDS,
  parameters: (cluster) => etcdAccessParameters(etcdOf(cluster)),
});
