import middy from '@middy/core';
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import type { Context } from 'aws-lambda';
import type * as z from './zod';
import { parseInput } from './domain/validation';

export const logger = new Logger({ serviceName: process.env.POWERTOOLS_SERVICE_NAME ?? 'caretaker' });

/** deps, or a factory called once on first use (so importing a handler builds no clients) */
export type DepsSource<D> = D | (() => D);

export interface HandlerSpec<S extends z.ZodType, D, O> {
  /** what the input is, for the error message: "acquire-lock input" */
  name: string;
  input: S;
  run: (input: z.output<S>, deps: D) => Promise<O>;
}

/**
 * The one shape every Lambda has: middy → parse the input with zod (a bad input throws
 * InvalidInputError naming the field, before any AWS call) → call the service → return.
 */
export function createHandler<S extends z.ZodType, D, O>(spec: HandlerSpec<S, D, O>, source: DepsSource<D>) {
  let deps: D | undefined;
  const resolve = (): D => (deps ??= typeof source === 'function' ? (source as () => D)() : source);
  return middy<unknown, O, Error, Context>(async (event: unknown) => {
    const input = parseInput(spec.input, event, `${spec.name} input`);
    return spec.run(input, resolve());
  }).use(injectLambdaContext(logger, { resetKeys: true }));
}

/** an environment variable the deployment must set; read when the deps are built */
export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(`environment variable ${name} is not set; the stack sets it for every function`);
  return value;
}
