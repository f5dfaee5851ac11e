import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { build } from 'esbuild';
import {
  bundleLambda,
  inlineSchemaKeys,
  LAMBDA_BUILD_OPTIONS,
  MAX_BUNDLE_BYTES,
  NOT_REACHED_ON_LAMBDA,
  SDK_PACKAGE_JSON,
  sdkPackageJsonPlugin,
  SDK_SCHEMA_FILE,
  sdkSchemaKeysPlugin,
} from '../../infra/bundling';

const ROOT = join(__dirname, '..', '..');
const dependencies = Object.keys(
  (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies: Record<string, string> })
    .dependencies,
);
/** the schema modules of every SDK client Caretaker depends on */
const schemaFiles = dependencies
  .filter((d) => d.startsWith('@aws-sdk/client-'))
  .flatMap((client) => {
    const dir = join(
      dirname(require.resolve(`${client}/package.json`, { paths: [ROOT] })),
      'dist-es',
      'schemas',
    );
    return readdirSync(dir)
      .filter((f) => /^schemas_\d+\.js$/.test(f))
      .map((f) => join(dir, f));
  });

let out: string;
beforeAll(() => {
  out = mkdtempSync(join(tmpdir(), 'caretaker-bundling-'));
});
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** every export of `file`, bundled as CJS (unminified) with or without the plugin, then loaded */
async function loadExports(file: string, withPlugin: boolean, tag: string): Promise<Record<string, unknown>> {
  const outfile = join(out, `${tag}-${withPlugin ? 'inlined' : 'original'}.js`);
  await build({
    stdin: { contents: `export * from ${JSON.stringify(file)};`, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    outfile,
    logLevel: 'silent',
    plugins: withPlugin ? [sdkSchemaKeysPlugin] : [],
  });
  // Node's own require: Jest's would run the 1.3 MB EC2 bundle through ts-jest
  return createRequire(outfile)(outfile) as Record<string, unknown>;
}

/** a schema as text: lazy member references (`() => X$`) by their source, classes by name */
const describe_ = (value: unknown) =>
  JSON.stringify(value, (_k, v: unknown) => (typeof v === 'function' ? `fn:${v.name}:${String(v)}` : v));

describe('SDK schema keys', () => {
  it('finds a schema module for every SDK client in the dependencies', () => {
    expect(schemaFiles.length).toBeGreaterThanOrEqual(
      dependencies.filter((d) => d.startsWith('@aws-sdk/client-')).length,
    );
    for (const f of schemaFiles) expect(f).toMatch(SDK_SCHEMA_FILE);
  });

  it('rewrites only computed keys that name a string constant of the module', () => {
    // Arrange
    const source = [
      'const _eQN = "ec2QueryName";',
      'const _xN = "xmlName";',
      'let _mut = "x";',
      'export var A$ = [3, n0, _A, 0, [_B, _C], [[0, { [_eQN]: _II, [_xN]: _ii }], [() => B$, { [_mut]: 1 }]]];',
      'var list = [_eQN];',
    ].join('\n');

    // Act
    const { code, rewritten } = inlineSchemaKeys(source);

    // Assert
    expect(rewritten).toBe(2);
    expect(code).toContain('{ "ec2QueryName": _II, "xmlName": _ii }');
    expect(code).toContain('{ [_mut]: 1 }');
    expect(code).toContain('var list = [_eQN];');
  });

  it('leaves every exported schema of every SDK client the same', async () => {
    for (const [i, file] of schemaFiles.entries()) {
      // Arrange, Act
      const original = await loadExports(file, false, String(i));
      const inlined = await loadExports(file, true, String(i));

      // Assert
      expect(Object.keys(inlined).sort()).toEqual(Object.keys(original).sort());
      const differing = Object.keys(original).filter((k) => describe_(inlined[k]) !== describe_(original[k]));
      expect({ file, differing }).toEqual({ file, differing: [] });
    }
  }, 60_000);

  it('bundles DescribeInstances without the rest of the EC2 API', async () => {
    // Arrange
    writeFileSync(
      join(out, 'ec2.ts'),
      "export { DescribeInstancesCommand, EC2Client } from '@aws-sdk/client-ec2';\n",
    );
    const ec2Bytes = async (plugins: (typeof sdkSchemaKeysPlugin)[]) => {
      const r = await build({
        ...LAMBDA_BUILD_OPTIONS,
        external: [...LAMBDA_BUILD_OPTIONS.external],
        mainFields: [...LAMBDA_BUILD_OPTIONS.mainFields],
        entryPoints: [join(out, 'ec2.ts')],
        nodePaths: [join(ROOT, 'node_modules')],
        outfile: join(out, 'ec2', 'index.js'),
        metafile: true,
        logLevel: 'silent',
        plugins,
      });
      const [output] = Object.values(r.metafile.outputs).filter((o) => o.entryPoint);
      return Object.entries(output!.inputs)
        .filter(([path]) => path.includes('@aws-sdk/client-ec2/'))
        .reduce((n, [, v]) => n + v.bytesInOutput, 0);
    };

    // Act
    const [without, withPlugin] = [await ec2Bytes([]), await ec2Bytes([sdkSchemaKeysPlugin])];

    // Assert: ~540 KB of EC2 schemas without the rewrite, a few dozen KB with it
    expect(without).toBeGreaterThan(400 * 1024);
    expect(withPlugin).toBeLessThan(60 * 1024);
  }, 60_000);
});

describe('bundleLambda', () => {
  let inputs: string[];
  beforeAll(async () => {
    const r = await bundleLambda(ROOT, 'find-control-plane', join(out, 'find-control-plane'), {
      logLevel: 'silent',
    });
    inputs = Object.keys(Object.values(r.metafile.outputs).find((o) => o.entryPoint)!.inputs);
  }, 60_000);

  it('bundles stand-ins for the credential providers a Lambda never reaches', () => {
    const providers = inputs.filter((i) =>
      NOT_REACHED_ON_LAMBDA.some((p) => i.includes(`node_modules/${p}/`)),
    );
    expect(providers).toEqual([]);
    expect(inputs).toContain('functions/shared/adapters/aws/unbundled-credential-providers.ts');
    expect(inputs.filter((i) => i.includes('@aws-sdk/nested-clients/'))).toEqual([]);
  });

  it('writes a handler that signs its first request with the credentials in the environment', () => {
    // Arrange: what Lambda sets, and an endpoint nothing listens on
    const bundle = join(out, 'find-control-plane', 'index.js');
    const invoke = `require(${JSON.stringify(bundle)}).handler({ cluster: 'prod-eu' }, { awsRequestId: '1', functionName: 'f' })
      .then(() => console.log('resolved'), (e) => console.log(e.name, e.code ?? '', e.message.split('\\n')[0]))`;

    // Act
    const r = spawnSync(process.execPath, ['-e', invoke], {
      encoding: 'utf8',
      env: {
        PATH: process.env.PATH,
        AWS_REGION: 'eu-west-1',
        AWS_ACCESS_KEY_ID: 'AKIAIOSFODNN7EXAMPLE',
        AWS_SECRET_ACCESS_KEY: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY',
        AWS_SESSION_TOKEN: 'token',
        AWS_ENDPOINT_URL: 'http://127.0.0.1:9',
        AWS_MAX_ATTEMPTS: '1',
        AWS_EC2_METADATA_DISABLED: 'true',
        CLUSTER_PARAMETER_PREFIX: '/caretaker/clusters',
      },
    });

    // Assert: it got as far as the network, so credentials resolved
    expect(r.stdout).toMatch(/ECONNREFUSED/);
    expect(r.stdout).not.toMatch(/CredentialsProviderError/);
  });
});

describe('SDK package.json', () => {
  it('bundles only the name and version, and the client still sends its version in the user agent', async () => {
    // Arrange
    const outfile = join(out, 'package-json.js');
    const pkg = JSON.parse(
      readFileSync(require.resolve('@aws-sdk/client-ssm/package.json', { paths: [ROOT] }), 'utf8'),
    ) as { name: string; version: string };

    // Act
    const r = await build({
      stdin: {
        contents: `import { SSMClient } from '@aws-sdk/client-ssm';
          export const ua = () => new SSMClient({ region: 'eu-west-1' }).config.defaultUserAgentProvider();`,
        resolveDir: ROOT,
        loader: 'js',
      },
      bundle: true,
      platform: 'node',
      format: 'cjs',
      mainFields: ['module', 'main'],
      outfile,
      logLevel: 'silent',
      metafile: true,
      plugins: [sdkPackageJsonPlugin],
    });
    const { ua } = createRequire(outfile)(outfile) as { ua: () => Promise<string[][]> };

    // Assert
    const inputs = Object.entries(Object.values(r.metafile.outputs)[0]!.inputs);
    const ssm = inputs.filter(([path]) => SDK_PACKAGE_JSON.test(path) && path.includes('client-ssm'));
    expect(ssm).toHaveLength(1);
    expect(ssm[0]![1].bytesInOutput).toBeLessThan(120);
    expect(await ua()).toContainEqual(['api/SSM', pkg.version]);
  }, 60_000);
});

describe('the Slack receiver bundle', () => {
  let bytes: number;
  let inputs: string[];
  beforeAll(async () => {
    const r = await bundleLambda(ROOT, 'slack-receiver', join(out, 'slack-receiver'), { logLevel: 'silent' });
    bytes = readFileSync(join(out, 'slack-receiver', 'index.js')).length;
    inputs = Object.keys(Object.values(r.metafile.outputs).find((o) => o.entryPoint)!.inputs);
  }, 60_000);

  it(`stays within ${MAX_BUNDLE_BYTES / 1024} KB: it answers Slack within 3 seconds of a cold start`, () => {
    expect(bytes).toBeLessThanOrEqual(MAX_BUNDLE_BYTES);
  });

  it('carries its own Slack client, not @slack/web-api and its dependencies', () => {
    expect(inputs.filter((i) => /node_modules\/(@slack\/|p-queue|p-retry|eventemitter3)/.test(i))).toEqual(
      [],
    );
    expect(inputs).toContain('functions/shared/adapters/slack/form-api.ts');
  });
});
