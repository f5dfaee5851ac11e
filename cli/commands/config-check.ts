import type { ClusterConfig, Retention } from '../../functions/shared/domain/config';
import { loadConfig } from '../config';
import type { CliDeps, Io } from '../context';
import { table } from '../format';

function retention(r: Retention): string {
  return `last ${r.keepLast}, ${r.hourly}h ${r.daily}d ${r.weekly}w ${r.monthly}m`;
}

function schedule(c: ClusterConfig): string {
  return c.backup.timeZone === 'UTC' ? c.backup.schedule : `${c.backup.schedule} ${c.backup.timeZone}`;
}

function etcdMode(c: ClusterConfig): string {
  return c.etcd ? `${c.etcd.etcdctl} :${c.etcd.clientPort}` : 'managed by AWS';
}

/**
 * `caretaker config check [file]`: the configuration as synth would resolve it.
 * @throws InvalidInputError (exit 1, one line per field) or CliError for an unreadable file
 */
export function configCheck(io: Io, deps: CliDeps, file: string | undefined): number {
  const loaded = loadConfig(io, deps, file, "'caretaker config check FILE'");
  const rows = loaded.config.clusters.map((c) => [
    c.name,
    c.kind,
    c.region,
    c.backup.enabled ? schedule(c) : 'off',
    c.backup.enabled ? retention(c.backup.retention) : '-',
    etcdMode(c),
  ]);
  const n = rows.length;
  io.stdout.write(`${loaded.file}: ${n} cluster${n === 1 ? '' : 's'}, valid\n\n`);
  io.stdout.write(table(['NAME', 'KIND', 'REGION', 'SCHEDULE', 'RETENTION', 'ETCD'], rows));
  return 0;
}
