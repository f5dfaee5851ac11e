import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';
import type { CliDeps, Io, SandboxModule } from '../../../cli/context';
import { main } from '../../../cli/main';

/** 2024-05-01T10:00:00.123Z: executionName turns it into 20240501T100000Z */
export const NOW = new Date('2024-05-01T10:00:00.123Z');
export const ACCOUNT = '123456789012';
export const BACKUP_ARN = `arn:aws:states:eu-west-1:${ACCOUNT}:stateMachine:caretaker-etcd-backup`;
export const BUCKET = 'caretaker-eu-west-1-snapshots';

/** two regions, so the region a command uses is visible */
export const CONFIG = {
  clusters: [
    { name: 'prod-eu', kind: 'kubeadm', region: 'eu-west-1' },
    { name: 'prod', kind: 'kubeadm', region: 'eu-west-1' },
    { name: 'lab-us', kind: 'kops', region: 'us-east-2' },
  ],
};

/** writes `content` as caretaker.config.json in a fresh directory */
export function configDir(content: unknown = CONFIG): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), 'caretaker-cli-'));
  const file = join(dir, 'caretaker.config.json');
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  return { dir, file };
}

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
  /** the region each client factory was asked for, in order */
  regions: { sfn: string[]; s3: string[]; cloudFormation: string[] };
  sleeps: number[];
}

export interface RunOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  loadSandbox?: () => Promise<SandboxModule | undefined>;
}

/**
 * Runs the CLI in-process with captured output, NOW as the clock, an instant sleep and real
 * SDK clients (which the tests' mockClient(...) intercepts). The working directory holds the
 * CONFIG file unless `cwd` says otherwise.
 */
export async function run(argv: string[], options: RunOptions = {}): Promise<Run> {
  let stdout = '';
  let stderr = '';
  const io: Io = {
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: options.env ?? {},
  };
  const regions: Run['regions'] = { sfn: [], s3: [], cloudFormation: [] };
  const sleeps: number[] = [];
  const cwd = options.cwd ?? configDir().dir;
  const deps: CliDeps = {
    sfn: (region) => (regions.sfn.push(region), new SFNClient({ region })),
    s3: (region) => (regions.s3.push(region), new S3Client({ region })),
    cloudFormation: (region) => (regions.cloudFormation.push(region), new CloudFormationClient({ region })),
    now: () => NOW,
    sleep: async (ms) => void sleeps.push(ms),
    cwd: () => cwd,
    loadSandbox: options.loadSandbox ?? (async () => undefined),
  };
  const code = await main(argv, io, deps);
  return { code, stdout, stderr, regions, sleeps };
}

/** the DescribeStacks answer of a deployed Caretaker-<region> stack */
export function stackOutputs(outputs: Record<string, string>) {
  return {
    Stacks: [
      {
        StackName: 'Caretaker-eu-west-1',
        StackStatus: 'UPDATE_COMPLETE' as const,
        CreationTime: new Date('2024-01-01T00:00:00Z'),
        Outputs: Object.entries(outputs).map(([OutputKey, OutputValue]) => ({ OutputKey, OutputValue })),
      },
    ],
  };
}
