import * as z from '../shared/zod';
import { sfnWorkflowStarter } from '../shared/adapters/aws/sfn-workflow-starter';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { createHandler, logger, requireEnv, type DepsSource } from '../shared/handler';
import { routeAlarmEvent, type RouteAlarmDeps } from './service';

/** the event is parsed by the service: every documented alarm shape, each field named on error */
export const input = z.unknown();

export const makeHandler = (deps: DepsSource<RouteAlarmDeps>) =>
  createHandler({ name: 'route-alarm', input, run: routeAlarmEvent }, deps);

export const handler = makeHandler(() => {
  const directory = ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX'));
  const names = JSON.parse(requireEnv('CLUSTER_NAMES')) as string[];
  return {
    clusters: () => Promise.all(names.map((n) => directory.get(n))),
    starter: sfnWorkflowStarter(),
    stateMachineArn: requireEnv('REMEDIATE_STATE_MACHINE_ARN'),
    log: (message, fields) => logger.info(message, fields),
  };
});
