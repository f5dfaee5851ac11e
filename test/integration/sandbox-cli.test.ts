import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { join } from 'node:path';

jest.setTimeout(120_000);

const ROOT = join(__dirname, '..', '..');

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(true));
  });
}

describe('npm run sandbox -- --keep', () => {
  it('stays up with its endpoints printed, and on Ctrl-C stops everything it started', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'sandbox/main.ts', '--keep', '--keys', '500'], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, FORCE_COLOR: '0' },
    });
    let out = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (out += d));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await new Promise<void>((resolve, reject) => {
        const timer = setInterval(() => {
          if (out.includes('Ctrl-C stops it')) {
            clearInterval(timer);
            resolve();
          }
        }, 100);
        void exited.then(() => {
          clearInterval(timer);
          reject(new Error(`the sandbox exited early:\n${out}`));
        });
      });
      expect(out).toMatch(/etcd-backup: Succeeded/);
      const ports = [...out.matchAll(/127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
      expect(ports.length).toBeGreaterThanOrEqual(5); // three etcd members, S3, DynamoDB
      expect(await refused(ports[0]!)).toBe(false);

      child.kill('SIGINT');
      expect(await exited).toBe(130);
      for (const port of new Set(ports)) expect(await refused(port)).toBe(true);
      expect(out).toMatch(/SIGINT: stopping everything it started/);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
