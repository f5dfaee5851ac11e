import { parseArgs, type ParseArgsConfig } from 'node:util';
import { UsageError } from './usage-error';

type Options = NonNullable<ParseArgsConfig['options']>;

export interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * node:util parseArgs, strict, with its errors turned into UsageError (exit 2).
 * @throws UsageError for an unknown flag, a missing value or the wrong number of arguments
 */
export function parse(command: string, argv: string[], options: Options, positionals: string[]): Parsed {
  let parsed: Parsed;
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true }) as Parsed;
  } catch (error) {
    // parseArgs' messages are good ("Unknown option '--foo'"); drop its advice about '--'
    const message = (error as Error).message.split('. To specify')[0]!.replace(/\.$/, '');
    throw new UsageError(`${command}: ${message}`, command);
  }
  const optional = positionals.filter((p) => p.startsWith('[')).length;
  const required = positionals.length - optional;
  if (parsed.positionals.length < required) {
    throw new UsageError(`${command}: missing ${positionals[parsed.positionals.length]}`, command);
  }
  if (parsed.positionals.length > positionals.length) {
    throw new UsageError(
      `${command}: unexpected argument "${parsed.positionals[positionals.length]}"`,
      command,
    );
  }
  return parsed;
}

export function stringFlag(parsed: Parsed, name: string): string | undefined {
  const value = parsed.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** @throws UsageError unless the flag is a whole number within [min, max] */
export function intFlag(
  command: string,
  parsed: Parsed,
  name: string,
  fallback: number,
  min: number,
  max: number,
): number {
  const raw = stringFlag(parsed, name);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!/^\d+$/.test(raw) || value < min || value > max) {
    throw new UsageError(
      `${command}: --${name} must be a whole number from ${min} to ${max}, not "${raw}"`,
      command,
    );
  }
  return value;
}

export const HELP_FLAG = { help: { type: 'boolean', short: 'h' } } as const;
export const CONFIG_FLAG = { config: { type: 'string' } } as const;
export const REGION_FLAG = { region: { type: 'string' } } as const;
export const ARN_FLAG = { 'state-machine-arn': { type: 'string' } } as const;
export const JSON_FLAG = { json: { type: 'boolean' } } as const;
