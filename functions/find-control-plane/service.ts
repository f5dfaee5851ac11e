import { NoInstancesFoundError } from '../shared/errors';
import type { ClusterDirectory, Inventory } from '../shared/ports';

export interface FindControlPlaneDeps {
  clusters: ClusterDirectory;
  inventory: Inventory;
}

/**
 * The cluster's control-plane instances as they are now: running, tagged, SSM Online.
 * @throws ClusterNotFoundError, NoInstancesFoundError
 */
export async function findControlPlane(input: { cluster: string }, deps: FindControlPlaneDeps) {
  const cluster = await deps.clusters.get(input.cluster);
  const instances = await deps.inventory.findManagedInstances(cluster.controlPlaneTags);
  if (instances.length === 0) {
    const tags = Object.entries(cluster.controlPlaneTags)
      .map(([k, v]) => `${k}=${v}`)
      .join(', ');
    throw new NoInstancesFoundError(
      `no running, SSM-managed instance of cluster ${cluster.name} carries the control-plane tags ${tags}`,
    );
  }
  // the backup workflow asks: kops with backup.source etcd-manager takes no second backup series
  const backupSource = cluster.backup.source ?? 'caretaker';
  // and: does it take kops' events etcd as a second series (etcd.events with Caretaker's backups)?
  const backupEvents = cluster.etcd?.events === true && backupSource === 'caretaker';
  return { instances, backupSource, backupEvents, kind: cluster.kind };
}
