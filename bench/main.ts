/**
 * `npm run -s bench -- [--only bundles|backup|restore|slack|patch] [--sizes small,large|<keys>x<valueBytes>,…] [--load-runs N]
 *   [--etcd 3.4,3.5,3.6]`
 *
 * Prints ONE JSON document to stdout (progress goes to stderr; `-s` keeps npm's banner off stdout). No assertions: figures only,
 * with the targets and a `meetsTarget` next to each. Environment: BENCH_ONLY, BENCH_SIZES,
 * BENCH_LOAD_RUNS, BENCH_ETCD do the same as the flags. --etcd picks the etcd versions the restore part
 * compares side by side (default every supported one). Every sandbox it starts is stopped, Ctrl-C included.
 */
import { cpus, loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { parseSizes, runBackupBench, stopActiveSandboxes } from './backup';
import { runBundlesBench } from './bundles';
import { runPatchBench } from './patch';
import { runRestoreBench, stopActiveRestores } from './restore';
import { runSlackBench } from './slack';
import { ETCD_VERSIONS, isEtcdVersion } from '../sandbox/etcd-versions';

const log = (line: string) => process.stderr.write(`${line}\n`);

/** bare restored members first (they are not the sandbox's), then the sandboxes */
const stopEverything = async () => {
  await stopActiveRestores();
  await stopActiveSandboxes();
};

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      only: { type: 'string' },
      sizes: { type: 'string' },
      'load-runs': { type: 'string' },
      etcd: { type: 'string' },
    },
  });
  const only = values.only ?? process.env.BENCH_ONLY;
  const parts = ['bundles', 'backup', 'restore', 'slack', 'patch'];
  if (only !== undefined && !parts.includes(only)) {
    log(`bench: --only must be one of ${parts.join(', ')}, not "${only}"`);
    return 2;
  }
  const sizes = parseSizes(values.sizes ?? process.env.BENCH_SIZES ?? 'small,large');
  const loadRuns = Number(values['load-runs'] ?? process.env.BENCH_LOAD_RUNS ?? 7);
  if (!Number.isInteger(loadRuns) || loadRuns < 1) {
    log('bench: --load-runs must be a whole number >= 1');
    return 2;
  }

  const etcdVersions = (values.etcd ?? process.env.BENCH_ETCD ?? ETCD_VERSIONS.join(','))
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
  const unknown = etcdVersions.filter((v) => !isEtcdVersion(v));
  if (unknown.length > 0 || etcdVersions.length === 0) {
    log(`bench: --etcd takes versions among ${ETCD_VERSIONS.join(', ')}, not "${unknown.join(',')}"`);
    return 2;
  }

  let stopping: Promise<void> | undefined;
  const onSignal = (signal: NodeJS.Signals) => {
    log(`\nbench: ${signal}: stopping the sandbox…`);
    void (stopping ??= stopEverything()).then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);

  const started = Date.now();
  const doc: Record<string, unknown> = {
    startedAt: new Date(started).toISOString(),
    // load timings are only as good as the machine is quiet: the 1-minute load average at the
    // start and the end says how busy it was (other jobs running on 2 cores skew them a lot)
    machine: {
      node: process.version,
      cpus: cpus().length,
      cpu: cpus()[0]?.model,
      loadAvgAtStart: loadavg()[0],
    },
  };
  try {
    const run = (part: string) => only === undefined || only === part;
    if (run('bundles')) doc.bundles = await runBundlesBench({ loadRuns, log });
    if (run('backup')) doc.backup = await runBackupBench(sizes, log);
    if (run('restore')) doc.restore = await runRestoreBench(sizes, etcdVersions.filter(isEtcdVersion), log);
    if (run('slack')) doc.slack = await runSlackBench({ log });
    if (run('patch')) doc.patch = await runPatchBench(log);
    (doc.machine as Record<string, unknown>).loadAvgAtEnd = loadavg()[0];
    doc.totalSeconds = Math.round((Date.now() - started) / 100) / 10;
    process.stdout.write(`${JSON.stringify(doc, null, 2)}\n`);
    return 0;
  } finally {
    await (stopping ??= stopEverything());
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    log(`bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
    process.exit(1);
  },
);
