import * as z from '../shared/zod';
import { cloudWatchAlarmStates } from '../shared/adapters/aws/cloudwatch-alarm-states';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { clusterName } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import type { AlarmStates, ClusterDirectory } from '../shared/ports';
import { checkAlarms } from './service';

export const input = z.object({ cluster: clusterName, action: z.enum(['upgrade', 'os-patch']).optional() });

export const makeHandler = (deps: DepsSource<{ clusters: ClusterDirectory; alarms: AlarmStates }>) =>
  createHandler({ name: 'check-alarms', input, run: checkAlarms }, deps);

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
  alarms: cloudWatchAlarmStates(),
}));
