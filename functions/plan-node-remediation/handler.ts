import * as z from '../shared/zod';
import { s3SnapshotStore } from '../shared/adapters/aws/s3-snapshot-store';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { nodeName } from '../shared/domain/commands/kubernetes-access';
import { clusterName, instanceId } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { planNodes, type PlanNodeRemediationDeps } from './service';

export const input = z.object({
  cluster: clusterName,
  key: z.string().min(1).max(1024),
  /** the execution's input: the node or instance the alarm names, if any */
  alarm: z.object({ node: nodeName.optional(), instanceId: instanceId.optional() }).optional(),
});

export const makeHandler = (deps: DepsSource<PlanNodeRemediationDeps>) =>
  createHandler(
    {
      name: 'plan-node-remediation',
      input,
      run: (i: z.output<typeof input>, d: PlanNodeRemediationDeps) =>
        planNodes(
          {
            cluster: i.cluster,
            key: i.key,
            ...(i.alarm?.node !== undefined && { node: i.alarm.node }),
            ...(i.alarm?.instanceId !== undefined && { instanceId: i.alarm.instanceId }),
          },
          d,
        ),
    },
    deps,
  );

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
  store: s3SnapshotStore(requireEnv('SNAPSHOT_BUCKET')),
}));
