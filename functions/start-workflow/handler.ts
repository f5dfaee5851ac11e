import * as z from '../shared/zod';
import { sfnWorkflowStarter } from '../shared/adapters/aws/sfn-workflow-starter';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { clusterName, isoTime } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { requestedBy, requestId } from '../shared/workflows';
import { startWorkflow, type StartWorkflowDeps } from './service';

export const input = z.object({
  cluster: clusterName,
  workflow: z.string().regex(/^[a-z][a-z-]{1,40}$/, 'must be a workflow name such as etcd-backup'),
  scheduledTime: isoTime,
  requestedBy: requestedBy.optional(),
  requestId: requestId.optional(),
  /** the workflow's own fields; its registry schema checks them */
  input: z.record(z.string(), z.unknown()).optional(),
});

export const makeHandler = (deps: DepsSource<StartWorkflowDeps>) =>
  createHandler({ name: 'start-workflow', input, run: startWorkflow }, deps);

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
  starter: sfnWorkflowStarter(),
  stateMachines: JSON.parse(requireEnv('STATE_MACHINES')) as Record<string, string>,
}));
