/**
 * The workflows section of docs/contracts.md, rendered from the registry. `npm run docs`
 * writes it; test/unit/docs/contracts.test.ts fails when the file and the registry disagree.
 * Not imported by any Lambda (it pulls zod's JSON Schema support).
 */
import { toJSONSchema } from 'zod';
import { WORKFLOWS, definitionFile, definitionName, stackOutput, stateMachineSubstitution } from './index';

export const BEGIN = '<!-- workflows:begin (generated from functions/shared/workflows by `npm run docs`) -->';
export const END = '<!-- workflows:end -->';

interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  pattern?: string;
  enum?: unknown[];
}

function fieldType(s: JsonSchema): string {
  if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(' \\| ');
  return s.type ?? 'any';
}

/** the generated section, markers included */
export function renderWorkflowContracts(): string {
  const lines = [BEGIN, '', '## Workflows', ''];
  lines.push(
    'One entry each in the workflow registry; infra, the sandbox, the CLI, start-workflow and',
    'publish-outcome read them from there.',
    '',
    '| workflow | file | CLI verb | config block | schedule | stack output / nested-execution substitution |',
    '|---|---|---|---|---|---|',
  );
  for (const w of WORKFLOWS) {
    lines.push(
      `| ${w.name} | [${definitionFile(definitionName(w))}](../${definitionFile(definitionName(w))}) | ${w.cli ? `\`caretaker ${w.cli.verb}\`` : '—'} | \`${w.config.key}\` | per cluster, from \`${w.config.key}.schedule\` | \`${stackOutput(w.name)}\` / \`\${${stateMachineSubstitution(w.name)}}\` |`,
    );
  }
  for (const w of WORKFLOWS) {
    const schema = toJSONSchema(w.input, { io: 'input' }) as JsonSchema;
    const required = new Set(schema.required ?? []);
    lines.push('', `### ${w.name}`, '', `${w.summary[0]!.toUpperCase()}${w.summary.slice(1)}.`, '');
    lines.push(
      `Execution input (start-workflow and the CLI parse it; unknown fields are refused): ${Object.entries(
        schema.properties ?? {},
      )
        .map(([name, s]) => `\`${name}${required.has(name) ? '' : '?'}\`: ${fieldType(s)}`)
        .join(', ')}.`,
      '',
      `After a failure the outcome message says: "${w.outcome.afterFailure}"`,
      '',
      '| substitution | function |',
      '|---|---|',
    );
    for (const [substitution, fn] of Object.entries<string>(w.substitutions)) {
      lines.push(`| \`\${${substitution}}\` | ${fn} |`);
    }
  }
  lines.push('', END);
  return lines.join('\n');
}

/**
 * `markdown` with its generated section replaced (or appended when it has none).
 */
export function withWorkflowContracts(markdown: string): string {
  const begin = markdown.indexOf(BEGIN);
  const end = markdown.indexOf(END);
  if (begin < 0 || end < 0) return `${markdown.trimEnd()}\n\n${renderWorkflowContracts()}\n`;
  return markdown.slice(0, begin) + renderWorkflowContracts() + markdown.slice(end + END.length);
}
