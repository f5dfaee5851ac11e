import type { CliDeps, Io } from '../context';

export const SANDBOX_HELP = `Usage: caretaker sandbox [...]

Runs Caretaker's local sandbox (sandbox/main.ts): every argument is passed on to it, so
\`caretaker sandbox --help\` shows its own help when the sandbox is present.
`;

/** `caretaker sandbox ...`: hands over to sandbox/main.ts, loaded only when asked for */
export async function sandbox(io: Io, deps: CliDeps, argv: string[]): Promise<number> {
  const loaded = await deps.loadSandbox();
  if (loaded) return loaded.runSandbox(argv);
  if (argv.includes('--help') || argv.includes('-h')) {
    io.stdout.write(SANDBOX_HELP);
    return 0;
  }
  io.stderr.write('caretaker: the sandbox is not available in this checkout\n');
  return 1;
}
