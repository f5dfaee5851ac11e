import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { S3Client } from '@aws-sdk/client-s3';
import { SFNClient } from '@aws-sdk/client-sfn';

/** where the CLI writes and what environment it reads; tests pass buffers */
export interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
}

/** what `caretaker sandbox` delegates to (sandbox/main.ts) */
export interface SandboxModule {
  runSandbox(argv: string[]): Promise<number>;
}

/** the CLI's ports: AWS clients per region, the clock, the working directory, the sandbox */
export interface CliDeps {
  sfn(region: string): SFNClient;
  s3(region: string): S3Client;
  cloudFormation(region: string): CloudFormationClient;
  /** approve / deny read the approval gates' table; absent: a client per call */
  dynamo?(region: string): DynamoDBDocumentClient;
  now(): Date;
  sleep(ms: number): Promise<void>;
  cwd(): string;
  /** undefined when this checkout has no sandbox */
  loadSandbox(): Promise<SandboxModule | undefined>;
}

export { UsageError } from './usage-error';

/** the command could not do what was asked; the message says why: exit 1 */
export class CliError extends Error {
  override readonly name = 'CliError';
}

function perRegion<T>(make: (region: string) => T): (region: string) => T {
  const made = new Map<string, T>();
  return (region) => {
    let client = made.get(region);
    if (!client) {
      client = make(region);
      made.set(region, client);
    }
    return client;
  };
}

// a variable specifier keeps tsc from resolving a module that may not exist in this checkout
const SANDBOX_MODULE = '../sandbox/main';

async function loadSandbox(): Promise<SandboxModule | undefined> {
  const base = resolve(__dirname, SANDBOX_MODULE);
  if (!['.ts', '.js'].some((ext) => existsSync(base + ext))) return undefined;
  return (await import(SANDBOX_MODULE)) as SandboxModule;
}

/** production wiring: real clients, built once per region */
export function defaultDeps(): CliDeps {
  return {
    sfn: perRegion((region) => new SFNClient({ region })),
    s3: perRegion((region) => new S3Client({ region })),
    cloudFormation: perRegion((region) => new CloudFormationClient({ region })),
    dynamo: perRegion((region) => DynamoDBDocumentClient.from(new DynamoDBClient({ region }))),
    now: () => new Date(),
    sleep: (ms) => new Promise((done) => setTimeout(done, ms)),
    cwd: () => process.cwd(),
    loadSandbox,
  };
}
