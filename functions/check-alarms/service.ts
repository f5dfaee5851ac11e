import type { AlarmStates, ClusterDirectory } from '../shared/ports';

/**
 * The cluster's blocker alarms (upgrade.blockerAlarms, or controlPlanePatching.blockerAlarms for an
 * OS patch) in ALARM now; the preflight
 * (plan-upgrade) refuses on any. A name CloudWatch does not know reads as not in ALARM (the
 * AlarmStates port, shared with patch-workers).
 */
export async function checkAlarms(
  input: { cluster: string; action?: 'upgrade' | 'os-patch' },
  deps: { clusters: ClusterDirectory; alarms: AlarmStates },
) {
  const cluster = await deps.clusters.get(input.cluster);
  // patch-control-plane reads its own block (controlPlanePatching.blockerAlarms)
  const names =
    (input.action === 'os-patch' ? cluster.controlPlanePatching : cluster.upgrade)?.blockerAlarms ?? [];
  if (names.length === 0) return { checked: [] as string[], firing: [] as { name: string }[] };
  const firing = (await deps.alarms.inAlarm(names)).map((name) => ({ name }));
  return { checked: names, firing };
}
