import type * as z from '../zod';
import { InvalidInputError } from '../errors';

/** one line per problem, naming the field: `statuses[1].revision: expected number` */
export function describeIssues(issues: readonly z.$ZodIssue[]): string[] {
  return issues.map((issue) => {
    const path = issue.path
      .map((part) => (typeof part === 'number' ? `[${part}]` : `.${String(part)}`))
      .join('')
      .replace(/^\./, '');
    return `${path || '(input)'}: ${issue.message}`;
  });
}

/**
 * Parses input from outside (an event, a state, the CLI) at the edge.
 * @throws InvalidInputError naming every field that is wrong.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const parsed = schema.safeParse(value);
  if (parsed.success) return parsed.data;
  const lines = describeIssues(parsed.error.issues);
  throw new InvalidInputError(`invalid ${what}: ${lines.join('; ')}`, lines);
}
