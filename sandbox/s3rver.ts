import { GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import S3rver from 's3rver';
import { DUMMY_ACCOUNT } from 's3rver/lib/models/account';

/**
 * s3rver checks that the access key id exists (not the v4 signature): it knows S3RVER/S3RVER.
 * The helpers here use these; {@link startLocalS3} also registers the dummy key of
 * test/support/offline-env.ts so SDK clients built from the environment are accepted too.
 */
export const S3RVER_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;

/** a local S3 (s3rver) on loopback with one bucket */
export interface LocalS3 {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  bucket: string;
  /** where s3rver keeps the objects */
  directory: string;
  /**
   * Environment for the AWS CLI (/usr/bin/aws) run by a node script: dummy credentials, a config
   * file with path-style addressing (s3rver has no virtual-host buckets), and
   * CARETAKER_S3_ENDPOINT_URL, which the SSM scripts turn into `--endpoint-url`.
   */
  cliEnv: Record<string, string>;
  /** an SDK v3 client for this endpoint (path style, dummy credentials) */
  client(): S3Client;
  /** closes the server and removes its directory */
  stop(): Promise<void>;
}

export interface StartLocalS3Options {
  /** default `caretaker-test` */
  bucket?: string;
}

/**
 * Starts s3rver in this process on 127.0.0.1 with a free port, a temp directory and one bucket.
 * SDK clients need AWS_REQUEST_CHECKSUM_CALCULATION / AWS_RESPONSE_CHECKSUM_VALIDATION =
 * WHEN_REQUIRED (test/support/offline-env.ts sets both), or streamed bodies keep chunk framing.
 * Anything calling it from a child process (the AWS CLI) must be spawned asynchronously.
 */
export async function startLocalS3(options: StartLocalS3Options = {}): Promise<LocalS3> {
  const bucket = options.bucket ?? 'caretaker-test';
  const envKey = process.env.AWS_ACCESS_KEY_ID;
  if (envKey) DUMMY_ACCOUNT.createKeyPair(envKey, process.env.AWS_SECRET_ACCESS_KEY ?? envKey);
  const directory = await mkdtemp(join(tmpdir(), 'caretaker-s3rver-'));
  const configFile = join(directory, '..', `${directory.split('/').pop()}.aws-config`);
  await writeFile(configFile, '[default]\nregion = eu-west-1\ns3 =\n    addressing_style = path\n');
  const server = new S3rver({
    address: '127.0.0.1',
    port: 0,
    silent: true,
    directory,
    configureBuckets: [{ name: bucket, configs: [] }],
  });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const clients: S3Client[] = [];
  return {
    endpoint,
    bucket,
    directory,
    cliEnv: {
      AWS_CONFIG_FILE: configFile,
      AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_PAGER: '',
      CARETAKER_S3_ENDPOINT_URL: endpoint,
    },
    client() {
      const client = new S3Client({
        endpoint,
        forcePathStyle: true,
        region: 'eu-west-1',
        credentials: { ...S3RVER_CREDENTIALS },
      });
      clients.push(client);
      return client;
    },
    async stop() {
      for (const client of clients) client.destroy();
      // keep-alive sockets from the SDK would hold close() open
      server.httpServer?.closeAllConnections();
      await server.close();
      await rm(directory, { recursive: true, force: true });
      await rm(configFile, { force: true });
    },
  };
}

/** what the local ASL runner's ItemReader reads through: GetObject on this S3 */
export function objectReader(client: S3Client): { getObject(bucket: string, key: string): Promise<string> } {
  return {
    async getObject(bucket, key) {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return out.Body!.transformToString();
    },
  };
}
