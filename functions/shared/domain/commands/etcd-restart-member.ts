import * as z from '../../zod';
import { instanceId } from '../schemas';
import { etcdAccessParameters, etcdOf } from './etcd-access';
import { DEFAULT_DELIVERY_TIMEOUT_SECONDS, defineCommand } from './spec';

/**
 * Restarts the etcd member on the node (systemd unit in host mode, the static pod's container in
 * crictl mode) and waits up to a minute for it to answer. The remediate workflow sends it only
 * after checking that the other members hold quorum.
 */
export const etcdRestartMember = defineCommand({
  name: 'etcd-restart-member',
  target: 'control-plane',
  subject: 'self',
  needs: ['etcd'],
  args: z.object({}).strict(),
  result: z.object({
    instanceId,
    restarted: z.literal(true),
    method: z.string(),
    healthy: z.boolean(),
    reason: z.string(),
  }),
  executionTimeoutSeconds: 300,
  deliveryTimeoutSeconds: DEFAULT_DELIVERY_TIMEOUT_SECONDS,
  parameters: (cluster) => ({ ...etcdAccessParameters(etcdOf(cluster)), EtcdUnit: 'etcd' }),
});
