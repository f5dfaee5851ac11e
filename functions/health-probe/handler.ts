import * as z from '../shared/zod';
import { ec2Inventory } from '../shared/adapters/aws/ec2-inventory';
import { emfMetricSink } from '../shared/adapters/aws/emf-metric-sink';
import { s3SnapshotStore } from '../shared/adapters/aws/s3-snapshot-store';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { ssmCommandRunner } from '../shared/adapters/aws/ssm-command-runner';
import { clusterName } from '../shared/domain/schemas';
import { createHandler, logger, requireEnv, type DepsSource } from '../shared/handler';
import { runHealthProbe, type HealthProbeDeps } from './service';

/** the schedule's input: one cluster */
export const input = z.object({ cluster: clusterName });

export const makeHandler = (deps: DepsSource<HealthProbeDeps>) =>
  createHandler({ name: 'health-probe', input, run: runHealthProbe }, deps);

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
  inventory: ec2Inventory(),
  runner: ssmCommandRunner(),
  documents: JSON.parse(requireEnv('DOCUMENTS')) as Record<string, string>,
  store: s3SnapshotStore(requireEnv('SNAPSHOT_BUCKET')),
  metrics: emfMetricSink(),
  clock: { now: () => new Date() },
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  log: (message, fields) => logger.info(message, fields),
}));
