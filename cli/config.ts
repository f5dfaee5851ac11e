import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import type { CaretakerConfig, ClusterConfig } from '../functions/shared/domain/config';
import { InvalidInputError } from '../functions/shared/errors';
import { readConfigFile } from '../infra/config-file';
import { CliError, type CliDeps, type Io } from './context';

/**
 * Reads the configuration the way synth does ($CARETAKER_CONFIG, ./caretaker.config.json, the
 * example), or `file` when given. `naming` is how the calling command takes a file, for the
 * hint on a bad one (`config check` takes it as an argument, not as --config).
 * @throws InvalidInputError from parseConfig, one issue per field
 * @throws CliError when the file is missing or not JSON
 */
export function loadConfig(
  io: Io,
  deps: CliDeps,
  file?: string,
  naming = '--config FILE',
): { file: string; config: CaretakerConfig } {
  if (file && !existsSync(resolve(deps.cwd(), file))) throw new CliError(`${file}: no such file`);
  const env = file ? { ...io.env, CARETAKER_CONFIG: file } : io.env;
  const warn = () =>
    io.stderr.write('caretaker: no caretaker.config.json here; using caretaker.config.example.json\n');
  try {
    return readConfigFile(env, deps.cwd(), warn);
  } catch (error) {
    if (error instanceof InvalidInputError) throw error;
    throw new CliError(`${(error as Error).message}\n  (name the file with ${naming} or CARETAKER_CONFIG)`);
  }
}

/** @throws CliError when the cluster is not in the configuration */
export function findCluster(config: CaretakerConfig, file: string, name: string): ClusterConfig {
  const cluster = config.clusters.find((c) => c.name === name);
  if (!cluster) {
    const known = config.clusters.map((c) => c.name).join(', ');
    throw new CliError(`cluster "${name}" is not in ${file} (it lists: ${known})`);
  }
  return cluster;
}
