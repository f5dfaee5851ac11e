import { ROUTE_INFO, judgeAttempt, type RouteName } from '../shared/domain/remediation';
import { InvalidInputError } from '../shared/errors';
import type { Clock, ClusterDirectory, RemediationLedger } from '../shared/ports';

export interface ClaimAttemptDeps {
  clusters: ClusterDirectory;
  ledger: RemediationLedger;
  clock: Clock;
}

export interface ClaimAttemptInput {
  cluster: string;
  route: RouteName;
  alarmName: string;
  /** the instance, member or node the alarm names; the cluster itself when it names none */
  resource?: string;
  /** the execution's own dryRun; the route's setting applies when absent */
  dryRun?: boolean;
}

/**
 * The first step of every runbook: read the route's settings (fresh, from the cluster's
 * configuration), then count one attempt for the alarm and resource unless the cooldown or the
 * day's limit forbids it. A dry run only judges: it never counts, so it cannot use up the
 * attempts a real run needs. Returns the lock scopes the route takes, for the next step.
 * @throws ClusterNotFoundError, InvalidInputError when remediation is off for the cluster
 */
export async function claimAttempt(input: ClaimAttemptInput, deps: ClaimAttemptDeps) {
  const cluster = await deps.clusters.get(input.cluster);
  const remediation = cluster.remediation;
  if (!remediation?.enabled) {
    throw new InvalidInputError(`cluster: remediation is off for ${input.cluster}`);
  }
  const settings = remediation.routes[input.route];
  const dryRun = input.dryRun ?? settings.dryRun;
  const resource = `${input.alarmName}#${input.resource ?? input.cluster}`;
  const now = deps.clock.now();
  const limits = { cooldownMinutes: settings.cooldownMinutes, maxAttemptsPerDay: settings.maxAttemptsPerDay };
  const verdict = dryRun
    ? judgeAttempt(await deps.ledger.read(input.cluster, input.route, resource), now, limits)
    : await deps.ledger.claim({ cluster: input.cluster, route: input.route, resource, now, ...limits });
  return {
    ...verdict,
    dryRun,
    resource,
    scopes: ROUTE_INFO[input.route].scopes,
    summary: ROUTE_INFO[input.route].summary,
    maxNodesAtOnce: remediation.maxNodesAtOnce,
    maxUnhealthyPercent: remediation.maxUnhealthyPercent,
  };
}
