import * as z from '../shared/zod';
import { dynamoRemediationLedger } from '../shared/adapters/aws/dynamo-remediation-ledger';
import { ssmClusterDirectory } from '../shared/adapters/aws/ssm-cluster-directory';
import { ROUTES } from '../shared/domain/remediation';
import { clusterName } from '../shared/domain/schemas';
import { createHandler, requireEnv, type DepsSource } from '../shared/handler';
import { claimAttempt, type ClaimAttemptDeps } from './service';

export const input = z.object({
  cluster: clusterName,
  route: z.enum(ROUTES),
  alarmName: z.string().min(1).max(255),
  resource: z.string().min(1).max(255).optional(),
  dryRun: z.boolean().optional(),
});

export const makeHandler = (deps: DepsSource<ClaimAttemptDeps>) =>
  createHandler({ name: 'claim-attempt', input, run: claimAttempt }, deps);

export const handler = makeHandler(() => ({
  clusters: ssmClusterDirectory(requireEnv('CLUSTER_PARAMETER_PREFIX')),
  ledger: dynamoRemediationLedger(requireEnv('CARETAKER_TABLE')),
  clock: { now: () => new Date() },
}));
