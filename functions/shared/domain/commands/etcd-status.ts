import * as z from '../../zod';
import { memberStatus } from '../schemas';
import { etcdAccessParameters, etcdOf } from './etcd-access';
import { DEFAULT_DELIVERY_TIMEOUT_SECONDS, defineCommand } from './spec';

/** read-only: endpoint health, alarms, leader, revision and db size of the node's own member */
export const etcdStatus = defineCommand({
  name: 'etcd-status',
  target: 'control-plane',
  subject: 'self',
  needs: ['etcd'],
  args: z.object({}).strict(),
  result: memberStatus,
  executionTimeoutSeconds: 120,
  deliveryTimeoutSeconds: DEFAULT_DELIVERY_TIMEOUT_SECONDS,
  parameters: (cluster) => etcdAccessParameters(etcdOf(cluster)),
});
