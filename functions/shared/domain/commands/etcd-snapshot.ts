import * as z from '../../zod';
import { snapshotResult } from '../schemas';
import { etcdAccessParameters, etcdOf } from './etcd-access';
import { DEFAULT_DELIVERY_TIMEOUT_SECONDS, defineCommand } from './spec';

/** snapshot the node's member, write the manifest, upload both under the cluster's prefix */
export const etcdSnapshot = defineCommand({
  name: 'etcd-snapshot',
  target: 'control-plane',
  subject: 'self',
  needs: ['etcd'],
  args: z.object({}).strict(),
  result: snapshotResult,
  executionTimeoutSeconds: 1800,
  deliveryTimeoutSeconds: DEFAULT_DELIVERY_TIMEOUT_SECONDS,
  parameters: (cluster, _args, context) => {
    const etcd = etcdOf(cluster);
    return {
      ...etcdAccessParameters(etcd),
      Cluster: cluster.name,
      Bucket: context.bucket,
      DataDir: etcd.dataDir,
      ExecutionId: context.executionId,
      // kube-apiserver's --etcd-prefix; the document's default is /registry
      ...(etcd.prefix !== undefined ? { EtcdPrefix: etcd.prefix } : {}),
    };
  },
});
