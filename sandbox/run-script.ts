import { spawn } from 'node:child_process';
import { join, resolve } from 'node:path';

/** the repository's ssm-documents directory */
export const SSM_DOCUMENTS_DIR = resolve(__dirname, '..', 'ssm-documents');

export interface RunScriptOptions {
  /** document parameters; each becomes `SSM_<Name>` (interpolationType ENV_VAR) */
  params: Readonly<Record<string, string>>;
  /** AWS_SSM_INSTANCE_ID, default `i-0123456789abcdef0` */
  instanceId?: string;
  /** AWS_SSM_REGION_NAME, default `eu-west-1`; `null` leaves it unset */
  region?: string | null;
  /** more environment (CARETAKER_*, AWS CLI settings); wins over everything else */
  env?: Readonly<Record<string, string>>;
  /** directories put in front of PATH (e.g. the tests' recording stand-ins) */
  pathPrepend?: readonly string[];
  /** the shell the script is started with; the SSM agent uses `sh` (dash on Debian), the default */
  shell?: string;
  /** killed with SIGKILL after this long, default 120 s */
  timeoutMs?: number;
  /** where `<name>.sh` is, default {@link SSM_DOCUMENTS_DIR} (the local fleet may run test documents) */
  scriptsDir?: string;
}

export interface ScriptRun {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** the JSON of the last `CARETAKER_RESULT {json}` stdout line, or undefined when there is none */
  result: Record<string, unknown> | undefined;
  durationMs: number;
}

const RESULT_PREFIX = 'CARETAKER_RESULT ';

/**
 * A minimal reading of the result line for tests. The Lambda side owns the real parser
 * (functions/shared/domain/command-result.ts); this one only checks the shape tests rely on.
 * @throws Error when the last line starts with the prefix but is not a JSON object.
 */
function readResult(stdout: string): Record<string, unknown> | undefined {
  const lines = stdout.split('\n').filter((line) => line.length > 0);
  const last = lines[lines.length - 1];
  if (!last?.startsWith(RESULT_PREFIX)) return undefined;
  const value: unknown = JSON.parse(last.slice(RESULT_PREFIX.length));
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`CARETAKER_RESULT is not a JSON object: ${last}`);
  }
  return value as Record<string, unknown>;
}

/**
 * Runs `ssm-documents/<name>.sh` the way the SSM agent runs an aws:runShellScript step: with
 * `sh <file>` and the parameters as `SSM_<Name>` environment variables, plus AWS_SSM_INSTANCE_ID
 * and AWS_SSM_REGION_NAME. The environment is built from scratch (PATH, HOME, LANG) so nothing
 * from the test process leaks in; pass what the script needs in `env`.
 * Asynchronous on purpose: the script may call back into servers running in this process (s3rver).
 */
export function runScript(name: string, options: RunScriptOptions): Promise<ScriptRun> {
  const file = join(options.scriptsDir ?? SSM_DOCUMENTS_DIR, `${name}.sh`);
  const env: Record<string, string> = {
    PATH: [...(options.pathPrepend ?? []), process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'].join(':'),
    HOME: process.env.HOME ?? '/root',
    LANG: 'C.UTF-8',
    AWS_SSM_INSTANCE_ID: options.instanceId ?? 'i-0123456789abcdef0',
  };
  const region = options.region === undefined ? 'eu-west-1' : options.region;
  if (region !== null) env.AWS_SSM_REGION_NAME = region;
  for (const [param, value] of Object.entries(options.params)) env[`SSM_${param}`] = value;
  Object.assign(env, options.env);

  const started = Date.now();
  return new Promise((resolvePromise, reject) => {
    const child = spawn(options.shell ?? 'sh', [file], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
    }, options.timeoutMs ?? 120_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('close', (exitCode, signal) => {
      clearTimeout(timer);
      try {
        resolvePromise({
          exitCode,
          signal,
          stdout,
          stderr,
          result: readResult(stdout),
          durationMs: Date.now() - started,
        });
      } catch (err) {
        reject(new Error(`${(err as Error).message}\n--- stderr ---\n${stderr}`));
      }
    });
  });
}
