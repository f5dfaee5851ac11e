import { InvalidInputError } from '../functions/shared/errors';
import { ARN_FLAG, CONFIG_FLAG, HELP_FLAG, intFlag, JSON_FLAG, parse, REGION_FLAG, stringFlag } from './args';
import { decide } from './commands/approve';
import { configCheck } from './commands/config-check';
import { history } from './commands/history';
import { sandbox } from './commands/sandbox';
import { startWorkflow } from './commands/start';
import { status } from './commands/status';
import { CliError, defaultDeps, UsageError, type CliDeps, type Io } from './context';
import { APPROVE_HELP, CONFIG_HELP, HISTORY_HELP, MAIN_HELP, STATUS_HELP, workflowHelp } from './help';
import { WORKFLOWS, workflowByCommand } from './workflows';

const CLUSTER_OPTIONS = { ...HELP_FLAG, ...CONFIG_FLAG, ...REGION_FLAG, ...ARN_FLAG, ...JSON_FLAG };

function wantsHelp(argv: string[]): boolean {
  return argv.includes('--help') || argv.includes('-h');
}

async function run(argv: string[], io: Io, deps: CliDeps): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined) {
    io.stderr.write(MAIN_HELP);
    return 2;
  }
  if (command === '--help' || command === '-h') {
    io.stdout.write(MAIN_HELP);
    return 0;
  }
  if (command === 'help') return rest[0] ? run([rest[0], '--help'], io, deps) : run(['--help'], io, deps);
  // everything after `sandbox`, --help included, belongs to the sandbox
  if (command === 'sandbox') return sandbox(io, deps, rest);

  if (command === 'config') {
    const [sub, ...args] = rest;
    if (sub === undefined) throw new UsageError('config: missing subcommand (config check [file])', 'config');
    if (sub === '--help' || sub === '-h' || (sub === 'check' && wantsHelp(args))) {
      io.stdout.write(CONFIG_HELP);
      return 0;
    }
    if (sub !== 'check')
      throw new UsageError(`config: unknown subcommand "${sub}" (try: config check)`, 'config');
    const parsed = parse('config check', args, {}, ['[file]']);
    return configCheck(io, deps, parsed.positionals[0]);
  }

  const workflow = workflowByCommand(command);
  if (workflow) {
    if (wantsHelp(rest)) {
      io.stdout.write(workflowHelp(workflow));
      return 0;
    }
    const own = Object.fromEntries(
      Object.entries(workflow.options).map(([flag, o]) => [flag, { type: o.type }]),
    );
    const parsed = parse(command, rest, { ...CLUSTER_OPTIONS, follow: { type: 'boolean' }, ...own }, [
      '<cluster>',
    ]);
    return startWorkflow(io, deps, workflow, {
      cluster: parsed.positionals[0]!,
      input: Object.fromEntries(
        Object.entries(workflow.options)
          .filter(([flag]) => parsed.values[flag] !== undefined)
          .map(([flag, o]) => [o.field, parsed.values[flag]]),
      ),
      follow: parsed.values.follow === true,
      json: parsed.values.json === true,
      region: stringFlag(parsed, 'region'),
      stateMachineArn: stringFlag(parsed, 'state-machine-arn'),
      config: stringFlag(parsed, 'config'),
    });
  }

  if (command === 'status') {
    if (wantsHelp(rest)) {
      io.stdout.write(STATUS_HELP);
      return 0;
    }
    const parsed = parse(command, rest, { ...CLUSTER_OPTIONS, bucket: { type: 'string' } }, ['<cluster>']);
    return status(io, deps, {
      cluster: parsed.positionals[0]!,
      json: parsed.values.json === true,
      region: stringFlag(parsed, 'region'),
      stateMachineArn: stringFlag(parsed, 'state-machine-arn'),
      bucket: stringFlag(parsed, 'bucket'),
      config: stringFlag(parsed, 'config'),
    });
  }

  if (command === 'history') {
    if (wantsHelp(rest)) {
      io.stdout.write(HISTORY_HELP);
      return 0;
    }
    const options = { ...CLUSTER_OPTIONS, limit: { type: 'string' }, workflow: { type: 'string' } } as const;
    const parsed = parse(command, rest, options, ['<cluster>']);
    const name = stringFlag(parsed, 'workflow') ?? 'backup';
    const workflow = workflowByCommand(name);
    if (!workflow) {
      throw new UsageError(
        `--workflow must be one of ${WORKFLOWS.map((w) => w.command).join(', ')}, not "${name}"`,
      );
    }
    return history(io, deps, workflow, {
      cluster: parsed.positionals[0]!,
      limit: intFlag(command, parsed, 'limit', 20, 1, 1000),
      json: parsed.values.json === true,
      region: stringFlag(parsed, 'region'),
      stateMachineArn: stringFlag(parsed, 'state-machine-arn'),
      config: stringFlag(parsed, 'config'),
    });
  }

  if (command === 'approve' || command === 'deny') {
    if (wantsHelp(rest)) {
      io.stdout.write(APPROVE_HELP);
      return 0;
    }
    const options = {
      ...CONFIG_FLAG,
      ...REGION_FLAG,
      ...JSON_FLAG,
      reason: { type: 'string' },
      as: { type: 'string' },
      table: { type: 'string' },
    } as const;
    const parsed = parse(command, rest, options, ['<execution>']);
    return decide(io, deps, {
      decision: command,
      execution: parsed.positionals[0]!,
      reason: stringFlag(parsed, 'reason'),
      as: stringFlag(parsed, 'as'),
      region: stringFlag(parsed, 'region'),
      table: stringFlag(parsed, 'table'),
      config: stringFlag(parsed, 'config'),
      json: parsed.values.json === true,
    });
  }

  throw new UsageError(`unknown command "${command}"`);
}

/**
 * The `caretaker` command line.
 * @returns the exit code: 0 done, 1 failed (the reason is on stderr), 2 usage error
 */
export async function main(
  argv: string[],
  io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env },
  deps: CliDeps = defaultDeps(),
): Promise<number> {
  try {
    return await run(argv, io, deps);
  } catch (error) {
    if (error instanceof UsageError) {
      const help = error.command ? `caretaker ${error.command} --help` : 'caretaker --help';
      io.stderr.write(`caretaker: ${error.message}\nRun '${help}' for usage.\n`);
      return 2;
    }
    if (error instanceof InvalidInputError) {
      io.stderr.write(`caretaker: ${error.message}\n`);
      return 1;
    }
    if (error instanceof CliError) {
      io.stderr.write(`caretaker: ${error.message}\n`);
      return 1;
    }
    // AWS and anything unexpected: the service's own name and message say the most
    const e = error as Error;
    io.stderr.write(`caretaker: ${e.name}: ${e.message}\n`);
    return 1;
  }
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
