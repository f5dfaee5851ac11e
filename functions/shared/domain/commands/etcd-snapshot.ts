import * as z from '../../zod';
import { InvalidInputError } from '../../errors';
import { KOPS_EVENTS_CLIENT_PORT } from '../config';
import { snapshotResult } from '../schemas';
import { SNAPSHOT_SERIES } from '../snapshot-key';
import { etcdAccessParameters, etcdOf } from './etcd-access';
import { DEFAULT_DELIVERY_TIMEOUT_SECONDS, defineCommand } from './spec';

/**
 * snapshot the node's member, write the manifest, upload both under the cluster's prefix; with
 * `series: events` (kops, `etcd.events: true`) the events etcd of the same node instead: the
 * etcd-manager-events-* pod on port 4002, with the same client certificate (kops signs
 * kube-apiserver's one etcd client certificate with etcd-clients-ca, which both etcd-manager
 * clusters trust: kops nodeup/pkg/model/etcd_manager_tls.go), into `<cluster>/etcd/events/`
 */
export const etcdSnapshot = defineCommand({
  name: 'etcd-snapshot',
  target: 'control-plane',
  subject: 'self',
  needs: ['etcd'],
  args: z.object({ series: z.enum(SNAPSHOT_SERIES).optional() }).strict(),
  result: snapshotResult,
  executionTimeoutSeconds: 1800,
  deliveryTimeoutSeconds: DEFAULT_DELIVERY_TIMEOUT_SECONDS,
  parameters: (cluster, args, context) => {
    const etcd = etcdOf(cluster);
    const events = args.series === 'events';
    if (events && !(etcd.events && etcd.etcdManager && etcd.etcdctl === 'crictl')) {
      throw new InvalidInputError(
        `args.series: cluster ${cluster.name} backs up no events etcd (that takes kind kops, etcd.events: true and etcd-manager's crictl access)`,
      );
    }
    return {
      ...etcdAccessParameters(etcd),
      // the events member: same certificates, its own port and pod (the script names the series by it)
      ...(events ? { EtcdPort: String(KOPS_EVENTS_CLIENT_PORT), EtcdManager: 'events' } : {}),
      Cluster: cluster.name,
      Bucket: context.bucket,
      DataDir: etcd.dataDir,
      ExecutionId: context.executionId,
      // kube-apiserver's --etcd-prefix; the document's default is /registry
      ...(etcd.prefix !== undefined ? { EtcdPrefix: etcd.prefix } : {}),
    };
  },
});
