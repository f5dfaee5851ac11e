import * as z from '../shared/zod';
import { dynamoRemediationLedger } from '../shared/adapters/aws/dynamo-remediation-ledger';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { ROUTES } from '../shared/domain/remediation';
import { clusterName } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { claimAttempt, type ClaimAttemptDeps } from './service';

/** the execution's input as the state machine hands it over (`$$.Execution.Input`) */
export const input = z.object({
  cluster: clusterName,
  alarm: z.object({
    route: z.enum(ROUTES),
    alarmName: z.string().min(1).max(255),
    instanceId: z.string().min(1).max(255).optional(),
    member: z.string().min(1).max(255).optional(),
    node: z.string().min(1).max(255).optional(),
    dryRun: z.boolean().optional(),
  }),
});

export const makeHandler = (deps: DepsSource<ClaimAttemptDeps>) =>
  createHandler(
    {
      name: 'claim-attempt',
      input,
      run: (i: z.output<typeof input>, d: ClaimAttemptDeps) =>
        claimAttempt(
          {
            cluster: i.cluster,
            route: i.alarm.route,
            alarmName: i.alarm.alarmName,
            resource: i.alarm.instanceId ?? i.alarm.member ?? i.alarm.node,
            dryRun: i.alarm.dryRun,
          },
          d,
        ),
    },
    deps,
  );

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
  ledger: dynamoRemediationLedger(requireEnv('CARETAKER_TABLE')),
  clock: { now: () => new Date() },
}));
