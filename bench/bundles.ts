/**
 * Bundle size and module-load time of every Caretaker function, bundled the way CDK's
 * NodejsFunction does it in infra/constructs/caretaker-function.ts.
 *
 * The bundling options are written inline in CaretakerFunction's constructor (not exported), so
 * they are mirrored here in CDK_BUNDLING; keep the two in step (see the note in the report).
 * CDK runs `esbuild --bundle <entry> --target=node22 --platform=node --format=cjs --minify
 * --sourcemap` with no externals (`externalModules: []`: the SDK is bundled).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { build, type BuildOptions } from 'esbuild';
import { FUNCTION_NAMES } from '../infra/constructs/caretaker-function';

export const REPO_ROOT = join(__dirname, '..');

/** targets from the issue */
export const TARGETS = { maxBytes: 500 * 1024, maxExtraLoadMs: 150 } as const;

/** mirror of CaretakerFunction's `bundling` props: minify, sourceMap, node22, CJS, no externals, ESM main fields */
export const CDK_BUNDLING = {
  bundle: true,
  minify: true,
  sourcemap: true,
  platform: 'node',
  target: 'node22',
  format: 'cjs',
  external: [],
  mainFields: ['module', 'main'],
} as const satisfies BuildOptions;

export interface BundleFigures {
  name: string;
  /** listed in infra's FUNCTION_NAMES, i.e. deployed as a CaretakerFunction today */
  inFunctionNames: boolean;
  entry: string;
  bytes: number;
  gzipBytes: number;
  loadMs: { median: number; samples: number[] };
  extraLoadMs: number;
  meetsTarget: { size: boolean; load: boolean; both: boolean };
  topModules: { path: string; bytes: number }[];
  topPackages: { package: string; bytes: number; modules: number }[];
}

export interface BundlesReport {
  esbuild: string;
  node: string;
  options: typeof CDK_BUNDLING;
  targets: typeof TARGETS & { maxKB: number };
  loadRuns: number;
  emptyNodeMs: { median: number; min: number; max: number; runs: number };
  functions: BundleFigures[];
  skipped: { entry: string; reason: string }[];
  summary: {
    count: number;
    allMeetTarget: boolean;
    failing: string[];
    largest?: { name: string; bytes: number };
    slowest?: { name: string; extraLoadMs: number };
    totalBytes: number;
    totalGzipBytes: number;
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
};
const round = (n: number, digits = 1) => Number(n.toFixed(digits));

/** wall time of one `node -e <code>` run, in ms */
function timeNode(code: string): number {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['-e', code], {
    stdio: ['ignore', 'ignore', 'pipe'],
    // what a Lambda sees, more or less; the handlers only read their environment when invoked
    env: {
      PATH: process.env.PATH,
      AWS_REGION: 'eu-west-1',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      CARETAKER_TABLE: 'bench',
      CLUSTER_PARAMETER_PREFIX: '/bench',
    },
  });
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  if (r.status !== 0) throw new Error(`node -e ${code} failed: ${r.stderr?.toString().slice(0, 2000)}`);
  return ms;
}

/** "node_modules/@aws-sdk/client-s3/dist-cjs/index.js" → "@aws-sdk/client-s3"; own code → "(caretaker)" */
function packageOf(path: string): string {
  const i = path.lastIndexOf('node_modules/');
  if (i < 0) return '(caretaker)';
  const parts = path.slice(i + 'node_modules/'.length).split('/');
  return parts[0]!.startsWith('@') ? `${parts[0]}/${parts[1]}` : parts[0]!;
}

export async function runBundlesBench(
  options: { loadRuns?: number; log?: (line: string) => void } = {},
): Promise<BundlesReport> {
  const runs = options.loadRuns ?? 7;
  const log = options.log ?? (() => undefined);
  const known = new Set<string>(FUNCTION_NAMES);
  const dirs = readdirSync(join(REPO_ROOT, 'functions'), { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(REPO_ROOT, 'functions', d.name, 'handler.ts')))
    .map((d) => d.name)
    .sort();
  // functions/shared is the handlers' common code, not a Lambda; every other directory with a
  // handler.ts is bundled, including functions not (yet) listed in FUNCTION_NAMES
  const skipped: { entry: string; reason: string }[] = [];
  if (dirs.includes('shared'))
    skipped.push({ entry: 'functions/shared/handler.ts', reason: 'shared helper module, not a Lambda' });
  const names = dirs.filter((d) => d !== 'shared');
  for (const n of FUNCTION_NAMES.filter((f) => !dirs.includes(f)))
    skipped.push({ entry: `functions/${n}/handler.ts`, reason: 'in FUNCTION_NAMES but missing' });

  const out = await mkdtemp(join(tmpdir(), 'caretaker-bench-bundles-'));
  const emptySamples: number[] = [];
  const functions: BundleFigures[] = [];
  try {
    timeNode(''); // warm the node binary into the page cache
    for (const name of names) {
      const entry = join(REPO_ROOT, 'functions', name, 'handler.ts');
      const outfile = join(out, name, 'index.js');
      let result;
      try {
        result = await build({
          ...CDK_BUNDLING,
          external: [...CDK_BUNDLING.external],
          entryPoints: [entry],
          outfile,
          absWorkingDir: REPO_ROOT,
          metafile: true,
          logLevel: 'silent',
        });
      } catch (e) {
        // another change may be half-written: report it and go on with the rest
        skipped.push({
          entry: `functions/${name}/handler.ts`,
          reason: `esbuild failed: ${(e as Error).message.split('\n').slice(0, 3).join(' ')}`,
        });
        continue;
      }
      const code = readFileSync(outfile);
      const outputKey = Object.keys(result.metafile.outputs).find((k) => k.endsWith(`${name}/index.js`));
      const inputs = outputKey ? result.metafile.outputs[outputKey]!.inputs : {};
      const modules = Object.entries(inputs).map(([path, v]) => ({ path, bytes: v.bytesInOutput }));
      const byPackage = new Map<string, { bytes: number; modules: number }>();
      for (const m of modules) {
        const p = packageOf(m.path);
        const agg = byPackage.get(p) ?? { bytes: 0, modules: 0 };
        agg.bytes += m.bytes;
        agg.modules += 1;
        byPackage.set(p, agg);
      }

      const requireCode = `require(${JSON.stringify(outfile)})`;
      try {
        timeNode(requireCode); // warm-up: page cache, not measured
      } catch (e) {
        skipped.push({ entry: `functions/${name}/handler.ts`, reason: (e as Error).message.slice(0, 300) });
        continue;
      }
      const samples: number[] = [];
      for (let i = 0; i < runs; i++) {
        // interleaved with the empty baseline so drift on a busy machine hits both alike
        emptySamples.push(timeNode(''));
        samples.push(timeNode(requireCode));
      }
      const figures: BundleFigures = {
        name,
        inFunctionNames: known.has(name),
        entry: relative(REPO_ROOT, entry),
        bytes: code.length,
        gzipBytes: gzipSync(code, { level: 9 }).length,
        loadMs: { median: round(median(samples)), samples: samples.map((s) => round(s)) },
        extraLoadMs: 0, // filled in once every empty sample is in
        meetsTarget: { size: code.length <= TARGETS.maxBytes, load: false, both: false },
        topModules: modules
          .sort((a, b) => b.bytes - a.bytes)
          .slice(0, 5)
          .map((m) => ({ path: m.path, bytes: m.bytes })),
        topPackages: [...byPackage.entries()]
          .map(([p, v]) => ({ package: p, ...v }))
          .sort((a, b) => b.bytes - a.bytes)
          .slice(0, 5),
      };
      functions.push(figures);
      log(`bundles: ${name} ${(code.length / 1024).toFixed(0)} KB, load ${figures.loadMs.median} ms`);
    }
  } finally {
    await rm(out, { recursive: true, force: true });
  }

  const empty = median(emptySamples);
  for (const f of functions) {
    f.extraLoadMs = round(f.loadMs.median - empty);
    f.meetsTarget.load = f.extraLoadMs <= TARGETS.maxExtraLoadMs;
    f.meetsTarget.both = f.meetsTarget.size && f.meetsTarget.load;
  }
  const failing = functions.filter((f) => !f.meetsTarget.both).map((f) => f.name);
  const largest = functions.reduce((a, b) => (b.bytes > a.bytes ? b : a), functions[0]!);
  const slowest = functions.reduce((a, b) => (b.extraLoadMs > a.extraLoadMs ? b : a), functions[0]!);
  return {
    esbuild: (
      JSON.parse(readFileSync(require.resolve('esbuild/package.json'), 'utf8')) as { version: string }
    ).version,
    node: process.version,
    options: CDK_BUNDLING,
    targets: { ...TARGETS, maxKB: TARGETS.maxBytes / 1024 },
    loadRuns: runs,
    emptyNodeMs: {
      median: round(empty),
      min: round(Math.min(...emptySamples)),
      max: round(Math.max(...emptySamples)),
      runs: emptySamples.length,
    },
    functions,
    skipped,
    summary: {
      count: functions.length,
      allMeetTarget: failing.length === 0,
      failing,
      largest: largest && { name: largest.name, bytes: largest.bytes },
      slowest: slowest && { name: slowest.name, extraLoadMs: slowest.extraLoadMs },
      totalBytes: functions.reduce((n, f) => n + f.bytes, 0),
      totalGzipBytes: functions.reduce((n, f) => n + f.gzipBytes, 0),
    },
  };
}
