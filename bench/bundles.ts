/**
 * Bundle size and module-load time of every Caretaker function, bundled by the same call that
 * CaretakerFunction deploys (bundleLambda in infra/bundling.ts: esbuild, minified, source maps,
 * node22, CJS, ES module main fields, the SDK inside, its EC2 schemas tree-shaken).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { gzipSync } from 'node:zlib';
import { FUNCTION_NAMES } from '../infra/constructs/caretaker-function';
import {
  bundleLambda,
  LAMBDA_BUILD_OPTIONS,
  MAX_BUNDLE_BYTES,
  sdkPackageJsonPlugin,
  sdkSchemaKeysPlugin,
} from '../infra/bundling';

export const REPO_ROOT = join(__dirname, '..');

/** targets from the issue */
export const TARGETS = { maxBytes: MAX_BUNDLE_BYTES, maxExtraLoadMs: 150 } as const;

/** what the report says the bundles were built with */
const BUILD_DESCRIPTION = {
  ...LAMBDA_BUILD_OPTIONS,
  plugins: [sdkSchemaKeysPlugin.name, sdkPackageJsonPlugin.name],
};

export interface BundleFigures {
  name: string;
  /** listed in infra's FUNCTION_NAMES, i.e. deployed as a CaretakerFunction today */
  inFunctionNames: boolean;
  entry: string;
  bytes: number;
  gzipBytes: number;
  loadMs: { median: number; samples: number[] };
  /**
   * the require() alone, timed inside the child: CPU time (user + system) and wall time,
   * medians. CPU time hardly moves when other jobs share the cores; wall time does.
   */
  requireMs: { cpuMedian: number; wallMedian: number; cpuSamples: number[] };
  extraLoadMs: number;
  meetsTarget: { size: boolean; load: boolean; both: boolean };
  topModules: { path: string; bytes: number }[];
  topPackages: { package: string; bytes: number; modules: number }[];
}

export interface BundlesReport {
  esbuild: string;
  node: string;
  options: typeof BUILD_DESCRIPTION;
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

/** in the child: times the require() alone and prints {cpu, wall} in ms */
const timedRequire = (file: string) =>
  `const c = process.cpuUsage(), t = process.hrtime.bigint(); require(${JSON.stringify(file)});` +
  `const u = process.cpuUsage(c); process.stdout.write(JSON.stringify({ cpu: (u.user + u.system) / 1000, wall: Number(process.hrtime.bigint() - t) / 1e6 }))`;

/** wall time of one `node -e <code>` run, in ms */
function timeNode(code: string): number {
  return runNode(code).ms;
}

/** one `node -e <code>` run: its wall time in ms and what it printed */
function runNode(code: string): { ms: number; stdout: string } {
  const started = process.hrtime.bigint();
  const r = spawnSync(process.execPath, ['-e', code], {
    stdio: ['ignore', 'pipe', 'pipe'],
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
  return { ms, stdout: r.stdout.toString() };
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
        result = await bundleLambda(REPO_ROOT, name, join(out, name), { logLevel: 'silent' });
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

      const requireCode = timedRequire(outfile);
      try {
        timeNode(requireCode); // warm-up: page cache, not measured
      } catch (e) {
        skipped.push({ entry: `functions/${name}/handler.ts`, reason: (e as Error).message.slice(0, 300) });
        continue;
      }
      const samples: number[] = [];
      const inside: { cpu: number; wall: number }[] = [];
      for (let i = 0; i < runs; i++) {
        // interleaved with the empty baseline so drift on a busy machine hits both alike
        emptySamples.push(timeNode(''));
        const run = runNode(requireCode);
        samples.push(run.ms);
        inside.push(JSON.parse(run.stdout) as { cpu: number; wall: number });
      }
      const figures: BundleFigures = {
        name,
        inFunctionNames: known.has(name),
        entry: relative(REPO_ROOT, entry),
        bytes: code.length,
        gzipBytes: gzipSync(code, { level: 9 }).length,
        loadMs: { median: round(median(samples)), samples: samples.map((s) => round(s)) },
        requireMs: {
          cpuMedian: round(median(inside.map((x) => x.cpu))),
          wallMedian: round(median(inside.map((x) => x.wall))),
          cpuSamples: inside.map((x) => round(x.cpu)),
        },
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
      log(
        `bundles: ${name} ${(code.length / 1024).toFixed(0)} KB, load ${figures.loadMs.median} ms (require: ${figures.requireMs.cpuMedian} ms CPU)`,
      );
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
    options: BUILD_DESCRIPTION,
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
