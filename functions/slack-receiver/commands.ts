/**
 * `/caretaker <text>` → what to do, with the CLI's argument rules (cli/args.ts's strict
 * parseArgs: unknown flags, missing or extra arguments are usage errors). The workflow verbs
 * come from the registry; planned verbs that are not in it yet answer "not available yet".
 */
import { parse } from '../../cli/args';
import { UsageError } from '../../cli/usage-error';
import { PLANNED_VERBS, READ_VERBS } from '../shared/domain/slack';
import { WORKFLOWS, type Workflow } from '../shared/workflows';

export type SlackCommand =
  | { kind: 'help' }
  | { kind: 'usage'; message: string }
  | { kind: 'not-available'; verb: string }
  | { kind: 'read'; verb: (typeof READ_VERBS)[number]; cluster?: string }
  | { kind: 'start'; verb: string; workflow: Workflow; cluster: string; input: Record<string, unknown> };

/** the longest text we parse; a slash command's text is short */
export const MAX_TEXT = 1000;

function workflowVerbs(): { verb: string; workflow: Workflow }[] {
  return WORKFLOWS.flatMap((w) => (w.cli ? [{ verb: w.cli.verb, workflow: w as Workflow }] : []));
}

/** the usage line: the read verbs, every registry verb with its flags, and the planned ones */
export function usageLine(): string {
  const registry = workflowVerbs().map(({ verb, workflow }) => {
    const options = Object.entries(workflow.cli?.options ?? {}).map(([flag, o]) =>
      flag === 'version' ? '<version>' : `[--${flag}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}]`,
    );
    return [verb, '<cluster>', ...options].join(' ');
  });
  const have = new Set(workflowVerbs().map((w) => w.verb));
  const planned = PLANNED_VERBS.filter((v) => !have.has(v)).map((v) =>
    v === 'upgrade' ? 'upgrade <cluster> <version> [--dry-run]' : `${v} <cluster> [--dry-run]`,
  );
  return `Usage: /caretaker help | status [cluster] | history [cluster] | ${[...registry, ...planned].join(' | ')}`;
}

/** words, with Slack's smart punctuation undone (— → --, curly quotes → straight) */
export function tokenize(text: string): string[] {
  const plain = text
    .replace(/[\u2014\u2013]/g, '--')
    .replace(/[\u201c\u201d]/g, '"')
    .replace(/[\u2018\u2019]/g, "'");
  return plain.split(/\s+/).filter(Boolean);
}

/** never throws: anything wrong is a `usage` answer naming what */
export function parseSlackCommand(text: string): SlackCommand {
  if (text.length > MAX_TEXT)
    return { kind: 'usage', message: `the command is longer than ${MAX_TEXT} characters` };
  const [verb, ...rest] = tokenize(text);
  if (verb === undefined || verb === 'help') return { kind: 'help' };
  try {
    if ((READ_VERBS as readonly string[]).includes(verb)) {
      const parsed = parse(verb, rest, {}, ['[cluster]']);
      const cluster = parsed.positionals[0];
      return { kind: 'read', verb: verb as (typeof READ_VERBS)[number], ...(cluster && { cluster }) };
    }
    const entry = workflowVerbs().find((w) => w.verb === verb);
    if (entry) {
      const own = entry.workflow.cli?.options ?? {};
      const options = Object.fromEntries(Object.entries(own).map(([flag, o]) => [flag, { type: o.type }]));
      // a workflow with a --version flag also takes the version as its second word
      const positionals = Object.hasOwn(own, 'version') ? ['<cluster>', '[version]'] : ['<cluster>'];
      const parsed = parse(verb, rest, options, positionals);
      const input: Record<string, unknown> = Object.fromEntries(
        Object.entries(own)
          .filter(([flag]) => parsed.values[flag] !== undefined)
          .map(([flag, o]) => [o.field, parsed.values[flag]]),
      );
      if (parsed.positionals[1] !== undefined) input[own['version']!.field] = parsed.positionals[1];
      return { kind: 'start', verb, workflow: entry.workflow, cluster: parsed.positionals[0]!, input };
    }
    if ((PLANNED_VERBS as readonly string[]).includes(verb)) return { kind: 'not-available', verb };
    return { kind: 'usage', message: `unknown command "${verb.slice(0, 40)}"` };
  } catch (e) {
    if (e instanceof UsageError) return { kind: 'usage', message: e.message };
    throw e;
  }
}
