import type { AlarmStates, ClusterDirectory } from '../shared/ports';

/**
 * The cluster's blocker alarms (upgrade.blockerAlarms) as CloudWatch sees them now: `firing`
 * lists those in ALARM, `missing` the names CloudWatch does not know (a typo must not pass as
 * quiet). The preflight (plan-upgrade) refuses on either.
 */
export async function checkAlarms(
  input: { cluster: string },
  deps: { clusters: ClusterDirectory; alarms: AlarmStates },
) {
  const cluster = await deps.clusters.get(input.cluster);
  const names = cluster.upgrade?.blockerAlarms ?? [];
  if (names.length === 0) return { checked: [] as string[], firing: [], missing: [] as string[] };
  const states = await deps.alarms.states(names);
  const firing = states
    .filter((a) => a.state === 'ALARM')
    .map((a) => ({ name: a.name, ...(a.reason ? { reason: a.reason.slice(0, 300) } : {}) }));
  const missing = names.filter((n) => !states.some((a) => a.name === n));
  return { checked: names, firing, missing };
}
