import type { Context } from 'aws-lambda';
import { workflowFunctions } from '../functions/shared/workflows';

/** a Lambda handler as the sandbox calls it */
export type Invocable = (event: unknown, context: Context) => Promise<unknown>;

/**
 * Every port a Caretaker function's service may ask for, played locally. Each handler's
 * `makeHandler(deps)` takes the ones it needs by these names.
 */
export interface SandboxPorts {
  [port: string]: unknown;
}

/** the functions the sandbox runs: every one a registry workflow names, the SSM event's, the approval gate's */
export function sandboxFunctions(): string[] {
  // request-approval: the approval gate's Lambda, also before a registry workflow names it
  return [...new Set([...workflowFunctions(), 'complete-command', 'request-approval'])];
}

/**
 * The sandbox's handler table, derived from the workflow registry: functions/<name>/handler.ts's
 * `makeHandler` for each function, given the sandbox's ports. A new workflow's Lambdas join it
 * with no edit here, as long as their deps are named like the ports above.
 * @throws Error naming a function whose folder has no handler with makeHandler
 */
export function sandboxHandlers(ports: SandboxPorts, names: readonly string[] = sandboxFunctions()) {
  const handlers: Record<string, Invocable> = {};
  for (const name of names) {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- the table is the registry's, not a list kept here
    const module = require(`../functions/${name}/handler`) as {
      makeHandler?: (deps: SandboxPorts) => Invocable;
    };
    if (typeof module.makeHandler !== 'function') {
      throw new Error(`functions/${name}/handler.ts exports no makeHandler(deps)`);
    }
    handlers[name] = module.makeHandler(ports);
  }
  return handlers;
}
