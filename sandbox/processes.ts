import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';

/** a long-running process started by the sandbox, stopped only by its PID */
export interface ServerProcess {
  /** what it is, for reports and errors: `kube-apiserver control-plane-1` */
  name: string;
  child: ChildProcess;
  pid: number;
  logFile: string;
  exited: Promise<void>;
}

/**
 * Starts `bin args` with stdout and stderr appended to `logFile`, nothing on stdin, and the
 * environment `env` (default this process's).
 * @throws Error when the process cannot be started.
 */
export function startProcess(
  name: string,
  bin: string,
  args: readonly string[],
  logFile: string,
  env: NodeJS.ProcessEnv = process.env,
): ServerProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn(bin, args, { stdio: ['ignore', fd, fd], env });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${name} (${bin}); see ${logFile}`);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  // an ENOENT after spawn surfaces here; `exited` already reports it
  child.once('error', () => undefined);
  return { name, child, pid: child.pid, logFile, exited };
}

/** what stopping and watching a process needs: any process this repository spawned and tracks */
export type RunningProcess = Pick<ServerProcess, 'child' | 'pid' | 'exited'>;

export function isAlive(proc: RunningProcess): boolean {
  return proc.child.exitCode === null && proc.child.signalCode === null;
}

/** SIGTERM by PID, SIGKILL after `graceMs` (0: SIGKILL at once); resolves once it has exited */
export async function stopProcess(proc: RunningProcess, graceMs = 5000): Promise<void> {
  if (!isAlive(proc)) return;
  try {
    process.kill(proc.pid, graceMs > 0 ? 'SIGTERM' : 'SIGKILL');
  } catch {
    return; // already gone
  }
  let timer: NodeJS.Timeout | undefined;
  const killed = new Promise<void>((resolve) => {
    timer = setTimeout(() => {
      try {
        process.kill(proc.pid, 'SIGKILL');
      } catch {
        // exited meanwhile
      }
      resolve();
    }, graceMs);
  });
  await Promise.race([proc.exited, killed]);
  clearTimeout(timer);
  await proc.exited;
}

/** the last `lines` lines of a log file, for error messages */
export function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** resident memory of a running process in bytes (VmRSS from /proc), 0 when it is gone */
export function residentBytes(pid: number): number {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m?.[1] ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}
