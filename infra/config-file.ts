import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseConfig, type CaretakerConfig } from '../functions/shared/domain/config';

export const DEFAULT_CONFIG_FILE = 'caretaker.config.json';
export const EXAMPLE_CONFIG_FILE = 'caretaker.config.example.json';

/**
 * Reads and parses the configuration: $CARETAKER_CONFIG, else ./caretaker.config.json, else
 * the example (with a warning, so a first `cdk synth` works out of the box).
 * @throws InvalidInputError from parseConfig, naming the cluster and field
 * @throws Error when the file is missing or not JSON
 */
export function readConfigFile(
  env: NodeJS.ProcessEnv = process.env,
  cwd = process.cwd(),
  warn: (message: string) => void = console.warn,
): { file: string; config: CaretakerConfig } {
  let file: string;
  if (env.CARETAKER_CONFIG) {
    file = resolve(cwd, env.CARETAKER_CONFIG);
    if (!existsSync(file)) throw new Error(`CARETAKER_CONFIG names ${file}, which does not exist`);
  } else if (existsSync(resolve(cwd, DEFAULT_CONFIG_FILE))) {
    file = resolve(cwd, DEFAULT_CONFIG_FILE);
  } else {
    file = resolve(cwd, EXAMPLE_CONFIG_FILE);
    warn(`caretaker: no ${DEFAULT_CONFIG_FILE} here; synthesizing ${EXAMPLE_CONFIG_FILE} instead`);
  }
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new Error(`${file}: ${(error as Error).message}`);
  }
  return { file, config: parseConfig(json) };
}

/** the configuration split by region: one stack per region holds that region's clusters */
export function configByRegion(config: CaretakerConfig): Map<string, CaretakerConfig> {
  const regions = new Map<string, CaretakerConfig>();
  for (const cluster of config.clusters) {
    const existing = regions.get(cluster.region);
    if (existing) existing.clusters.push(cluster);
    else regions.set(cluster.region, { ...config, clusters: [cluster] });
  }
  return regions;
}
