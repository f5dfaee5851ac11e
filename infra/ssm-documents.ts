import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { parse } from 'yaml';

/** one parameter of a Caretaker command document, as the YAML declares it */
export interface DocumentParameter {
  type: string;
  description?: string;
  default?: string;
  allowedPattern: string;
  interpolationType: 'ENV_VAR';
  [key: string]: unknown;
}

/** a command document with its script inlined, ready to deploy or to run in the sandbox */
export interface CommandDocument {
  /** the logical name: the file name without `.yaml` (etcd-status, etcd-snapshot) */
  name: string;
  /** the document content with mainSteps[0].inputs.runCommand replaced by the script's lines */
  content: Record<string, unknown>;
  parameters: Record<string, DocumentParameter>;
  /** the sibling .sh file with its shared helpers (lib/*.sh) inlined: what the SSM agent runs */
  script: string;
}

/**
 * Loads every `<name>.yaml` in `dir` and inlines its sibling `<name>.sh` into
 * `mainSteps[0].inputs.runCommand`: the .sh file is the single source of the script.
 * @throws Error naming the file and what is wrong (missing script, a parameter without
 *   `allowedPattern` or `interpolationType: ENV_VAR`, no mainSteps).
 */
export function loadCommandDocuments(dir: string): CommandDocument[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((file) => file.endsWith('.yaml'))
    .sort()
    .map((file) => loadCommandDocument(join(dir, file)));
}

/** @throws Error naming the file and the problem; see loadCommandDocuments */
export function loadCommandDocument(yamlPath: string): CommandDocument {
  const name = basename(yamlPath, '.yaml');
  const fail = (problem: string): never => {
    throw new Error(`ssm document ${yamlPath}: ${problem}`);
  };
  const scriptPath = yamlPath.replace(/\.yaml$/, '.sh');
  if (!existsSync(scriptPath)) fail(`its script ${basename(scriptPath)} is missing`);

  const doc: unknown = parse(readFileSync(yamlPath, 'utf8'));
  if (!isRecord(doc)) return fail('is not a YAML mapping');
  if (typeof doc.schemaVersion !== 'string') fail('needs a schemaVersion (2.2 for Command documents)');
  const steps = doc.mainSteps;
  if (!Array.isArray(steps) || steps.length === 0) return fail('needs at least one entry in mainSteps');
  // the script goes into the one aws:runShellScript step (the first step, unless an
  // aws:runDocument step of AWS's runs before it, as in os-patch-baseline)
  const at = steps.findIndex((step) => isRecord(step) && step.action === 'aws:runShellScript');
  const first: unknown = steps[at === -1 ? 0 : at];
  if (!isRecord(first) || !isRecord(first.inputs)) return fail('mainSteps[0].inputs is missing');

  const rawParameters = doc.parameters ?? {};
  if (!isRecord(rawParameters)) return fail('parameters must be a mapping');
  const parameters: Record<string, DocumentParameter> = {};
  for (const [param, spec] of Object.entries(rawParameters)) {
    // the architecture's rule: nothing free-form reaches a node's shell
    if (!isRecord(spec) || typeof spec.allowedPattern !== 'string') {
      fail(`parameter ${param} needs an allowedPattern`);
    }
    if ((spec as Record<string, unknown>).interpolationType !== 'ENV_VAR') {
      fail(`parameter ${param} needs interpolationType: ENV_VAR`);
    }
    parameters[param] = spec as DocumentParameter;
  }

  const script = inlineLibraries(readFileSync(scriptPath, 'utf8'), dirname(scriptPath), fail);
  // one runCommand entry per line; the file's final newline is not an extra empty command
  const runCommand = script.replace(/\r\n/g, '\n').replace(/\n$/, '').split('\n');
  const filled = { ...first, inputs: { ...first.inputs, runCommand } };
  const content = { ...doc, mainSteps: steps.map((step: unknown) => (step === first ? filled : step)) };
  return { name, content, parameters, script };
}

/**
 * how long AWS's own documents, run by an aws:runDocument step, may take: their steps' own
 * timeoutSeconds (AWS-RunPatchBaseline's PatchLinux step: 7200 s)
 */
export const AWS_DOCUMENT_TIMEOUT_SECONDS: Readonly<Record<string, number>> = {
  'AWS-RunPatchBaseline': 7200,
};

interface Step {
  action?: string;
  name?: string;
  inputs?: { timeoutSeconds?: number; documentPath?: string; runCommand?: string[] };
}

/** the document's aws:runShellScript step: the one Caretaker's script runs in */
export function scriptStep(doc: CommandDocument): Step {
  const steps = (doc.content as { mainSteps: Step[] }).mainSteps;
  return steps.find((s) => s.action === 'aws:runShellScript') ?? steps[0]!;
}

/**
 * How long the whole document may run: the sum of its steps' timeoutSeconds, where an
 * aws:runDocument step counts the AWS document's own (AWS_DOCUMENT_TIMEOUT_SECONDS).
 * @throws Error for an aws:runDocument step of a document whose timeout is not known here
 */
export function documentTimeoutSeconds(doc: CommandDocument): number {
  const steps = (doc.content as { mainSteps: Step[] }).mainSteps;
  return steps.reduce((sum, step) => {
    if (step.action === 'aws:runDocument') {
      const nested = AWS_DOCUMENT_TIMEOUT_SECONDS[step.inputs?.documentPath ?? ''];
      if (nested === undefined)
        throw new Error(`${doc.name}: no known timeout for ${String(step.inputs?.documentPath)}`);
      return sum + nested;
    }
    return sum + (step.inputs?.timeoutSeconds ?? 3600);
  }, 0);
}

/** `. "$(dirname "$0")/lib/x.sh" # caretaker:inline`: a shared helper file, sourced when run from the repository */
const INLINE = /^\. "\$\(dirname "\$0"\)\/(lib\/[a-z0-9-]+\.sh)" # caretaker:inline$/;

/**
 * SSM runs one script with nothing beside it, so each `caretaker:inline` line is replaced by the
 * helper file it sources (minus the file's header comment).
 */
export function inlineLibraries(script: string, dir: string, fail: (problem: string) => never): string {
  return script
    .split('\n')
    .map((line) => {
      const m = INLINE.exec(line);
      if (!m) return line;
      const lib = join(dir, m[1]!);
      if (!existsSync(lib)) fail(`it inlines ${m[1]!}, which is missing`);
      const body = readFileSync(lib, 'utf8').replace(/\n$/, '').split('\n');
      // the file's header (shebang, shellcheck, how it is inlined) is about the file, not the script
      const start = body.findIndex((l) => !l.startsWith('#'));
      return [
        `# --- inlined from ssm-documents/${m[1]!} ---`,
        ...body.slice(start),
        `# --- end of ${m[1]!} ---`,
      ].join('\n');
    })
    .join('\n');
}

/**
 * The document's content with one parameter's `allowedPattern` replaced, e.g. `Bucket` pinned to
 * the deployed bucket at synth (a CloudFormation token is fine there); a document without that
 * parameter is returned as it is.
 */
export function pinParameterPattern(
  doc: CommandDocument,
  parameter: string,
  pattern: string,
): Record<string, unknown> {
  const parameters = doc.content.parameters;
  if (!isRecord(parameters) || !isRecord(parameters[parameter])) return doc.content;
  return {
    ...doc.content,
    parameters: { ...parameters, [parameter]: { ...parameters[parameter], allowedPattern: pattern } },
  };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
