/**
 * Cluster locks by scope. Work on etcd or the control plane takes `control-plane`; work that
 * cordons, drains or reboots workers takes `workers`. A backup (control-plane) and a worker
 * patch window (workers) run side by side; a control-plane upgrade takes both. Restore
 * verification takes none: it runs on its own scratch instance and never touches the cluster's
 * nodes (retention keeps the snapshot it reads: it is newer than the newest verified one).
 */
export const LOCK_SCOPES = ['control-plane', 'workers'] as const;
export type LockScope = (typeof LOCK_SCOPES)[number];

/** the scopes in one fixed order, each once: every taker locks in the same order */
export function orderedScopes(scopes: readonly LockScope[] | undefined): LockScope[] {
  const wanted = new Set(scopes && scopes.length > 0 ? scopes : LOCK_SCOPES);
  return LOCK_SCOPES.filter((s) => wanted.has(s));
}
