/**
 * How every Caretaker Lambda is bundled: one esbuild build per functions/<name>/handler.ts.
 * CaretakerFunction deploys what bundleLambda writes, and bench/bundles.ts measures the same
 * call, so the benchmark's figures are the deployed bundles' figures.
 *
 * Why not NodejsFunction's own bundling: it runs the esbuild CLI, which takes no plugins, and
 * the plugin below is what keeps the EC2 client's schemas out of the bundles.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build, type BuildOptions, type BuildResult, type Plugin } from 'esbuild';

/**
 * Links of the SDK's default credential chain that a Lambda never reaches (Lambda passes the
 * role's credentials in the environment, and the chain stops at fromEnv): the bundles get
 * stand-ins that fail over to the next link, see unbundled-credential-providers.ts. Saves
 * ~90 KB per bundle (these providers and the STS/SSO clients they bring). They are loaded with
 * a dynamic import(), so start-up time is the same either way.
 */
export const NOT_REACHED_ON_LAMBDA = [
  '@aws-sdk/credential-provider-ini',
  '@aws-sdk/credential-provider-process',
  '@aws-sdk/credential-provider-sso',
  '@aws-sdk/credential-provider-web-identity',
] as const;
const UNBUNDLED_CREDENTIAL_PROVIDERS = './functions/shared/adapters/aws/unbundled-credential-providers.ts';

/** the largest a function's bundle (index.js) may be; bench/bundles.ts reports against it */
export const MAX_BUNDLE_BYTES = 500 * 1024;

/** what every function's build shares */
export const LAMBDA_BUILD_OPTIONS = {
  bundle: true,
  minify: true,
  sourcemap: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  // the packages' ES module builds: esbuild tree-shakes those (the SDK's CJS builds it cannot)
  mainFields: ['module', 'main'],
  // nothing external: each function carries the SDK clients it imports, at the locked versions
  external: [],
  // relative to the project root (absWorkingDir)
  alias: Object.fromEntries(NOT_REACHED_ON_LAMBDA.map((p) => [p, UNBUNDLED_CREDENTIAL_PROVIDERS])),
} as const satisfies BuildOptions;

/** the SDK's generated schema modules: dist-es/schemas/schemas_<n>.js, also under submodules/ */
export const SDK_SCHEMA_FILE =
  /[\\/]node_modules[\\/]@aws-sdk[\\/][^\\/]+[\\/]dist-es[\\/](?:.+[\\/])?schemas[\\/]schemas_\d+\.js$/;

/**
 * Writes the SDK schemas' computed keys as the string literals they are:
 * `{ [_eQN]: _II }` → `{ "ec2QueryName": _II }`, where the module declares
 * `const _eQN = "ec2QueryName";`.
 *
 * esbuild keeps any top-level statement with a computed key that is not a literal (reading an
 * identifier and converting it to a property key might run code, evanw/esbuild#4373), and nearly
 * every EC2 schema has one (`ec2QueryName`, `xmlName`): one DescribeInstances kept all 8,800
 * schemas of the EC2 API, ~540 KB in every function that talks to EC2
 * (aws/aws-sdk-js-v3#7607). With literal keys esbuild drops the schemas nothing uses.
 * Only keys naming a top-level `const` of a plain string literal in the same file are
 * rewritten, so the objects are the same; a unit test compares every exported schema.
 */
export function inlineSchemaKeys(source: string): { code: string; rewritten: number } {
  const constants = new Map<string, string>();
  for (const m of source.matchAll(/^const (_\w+) = ("[^"\\\n]*");$/gm)) constants.set(m[1]!, m[2]!);
  let rewritten = 0;
  const code = source.replace(/([{,]\s*)\[(_\w+)\]:/g, (whole, before: string, name: string) => {
    const literal = constants.get(name);
    if (literal === undefined) return whole;
    rewritten += 1;
    return `${before}${literal}:`;
  });
  return { code, rewritten };
}

/** esbuild plugin applying inlineSchemaKeys to the SDK's schema modules */
export const sdkSchemaKeysPlugin: Plugin = {
  name: 'caretaker-sdk-schema-keys',
  setup(b) {
    b.onLoad({ filter: SDK_SCHEMA_FILE }, async (args) => ({
      contents: inlineSchemaKeys(await readFile(args.path, 'utf8')).code,
      loader: 'js',
    }));
  },
};

/** an SDK package's own package.json, which its runtimeConfig imports whole for one field */
export const SDK_PACKAGE_JSON = /[\\/]node_modules[\\/]@aws-sdk[\\/][^\\/]+[\\/]package\.json$/;

/**
 * The SDK clients import their package.json (`import packageInfo from "../package.json"`) for
 * `packageInfo.version` (the user agent) only, and esbuild bundles the whole file: scripts,
 * dependencies, the exports map, ~2 KB per client. This plugin gives them `{ name, version }`.
 */
export const sdkPackageJsonPlugin: Plugin = {
  name: 'caretaker-sdk-package-json',
  setup(b) {
    b.onLoad({ filter: SDK_PACKAGE_JSON }, async (args) => {
      const { name, version } = JSON.parse(await readFile(args.path, 'utf8')) as {
        name: string;
        version: string;
      };
      return { contents: JSON.stringify({ name, version }), loader: 'json' };
    });
  },
};

/** functions/<name>/handler.ts of the project */
export const handlerEntry = (projectRoot: string, name: string) =>
  join(projectRoot, 'functions', name, 'handler.ts');

/**
 * Bundles one function into outdir/index.js (+ index.js.map): what Lambda runs as
 * `index.handler`.
 */
export async function bundleLambda(
  projectRoot: string,
  name: string,
  outdir: string,
  options: Pick<BuildOptions, 'logLevel'> = {},
): Promise<BuildResult<{ metafile: true }>> {
  return build({
    ...LAMBDA_BUILD_OPTIONS,
    external: [...LAMBDA_BUILD_OPTIONS.external],
    mainFields: [...LAMBDA_BUILD_OPTIONS.mainFields],
    plugins: [sdkSchemaKeysPlugin, sdkPackageJsonPlugin],
    entryPoints: [handlerEntry(projectRoot, name)],
    outfile: join(outdir, 'index.js'),
    absWorkingDir: projectRoot,
    logLevel: options.logLevel ?? 'warning',
    metafile: true,
  });
}

/**
 * `node --import tsx infra/bundling.ts <project root> <function name> <outdir>`: CDK's local
 * bundling is synchronous and esbuild's plugins need its asynchronous API, so
 * CaretakerFunction runs this in a child process.
 */
if (require.main === module) {
  const [projectRoot, name, outdir] = process.argv.slice(2);
  if (!projectRoot || !name || !outdir) {
    process.stderr.write('usage: node --import tsx infra/bundling.ts <project root> <function> <outdir>\n');
    process.exit(2);
  }
  bundleLambda(projectRoot, name, outdir).then(
    () => process.exit(0),
    (e: unknown) => {
      process.stderr.write(`${(e as Error).message}\n`);
      process.exit(1);
    },
  );
}
