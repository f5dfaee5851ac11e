/**
 * `npm run sandbox -- [workflow] [options]` (USAGE below): brings the local
 * sandbox up, runs a workflow end to end with progress, prints a report, and stops everything
 * it started (Ctrl-C included). See README "Local sandbox".
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { WORKFLOWS, workflowNamed, type WorkflowName } from '../functions/shared/workflows';
import { isEksWorkflow, runEksSandbox } from './eks-main';
import type { RunEvent, RunResult } from './asl-runner';
import {
  DEFAULT_ETCD_VERSION,
  ETCD_VERSIONS,
  etcdBinaries,
  isEtcdVersion,
  missingEtcdBinaries,
  type EtcdVersion,
} from './etcd-versions';
import { kubernetesBinaries, missingKubernetesBinaries, type NodeSummary } from './kubernetes';
import type { CommandRecord } from './local-fleet';
import type { Sandbox as SandboxType } from './sandbox';
import {
  isRemediateScenario,
  REMEDIATE_SCENARIOS,
  runScenario,
  SCENARIOS,
  type RemediateScenario,
} from './remediate-scenarios';

/** what a workflow needs run before it in a fresh sandbox: a verification needs a snapshot to verify */
const RUN_FIRST: Partial<Record<WorkflowName, WorkflowName[]>> = { 'restore-verify': ['etcd-backup'] };

/** each registry workflow by its CLI verb and by its name → what the sandbox runs, in order */
const SANDBOX_WORKFLOWS = new Map<string, string[]>(
  WORKFLOWS.flatMap((w) => {
    const runs = [...(RUN_FIRST[w.name] ?? []), w.name];
    return [...new Set([w.cli?.verb ?? w.name, w.name])].map((command) => [command, runs] as const);
  }),
);
const DEFAULT_WORKFLOW = 'backup';
/** what the sandbox adds to a workflow's input: a patch run goes whenever it is started (`--now`) */
const SANDBOX_INPUT: Partial<Record<WorkflowName, Record<string, boolean>>> = {
  'patch-workers': { now: true },
};
/** every workflow's CLI flags (`--dry-run`), from the registry */
const WORKFLOW_FLAGS = WORKFLOWS.flatMap((w) =>
  Object.entries(w.cli?.options ?? {}).map(([flag, o]) => ({ flag, workflow: w.name, option: o })),
);
const COMMANDS = WORKFLOWS.map((w) => w.cli?.verb ?? w.name);

const USAGE = `usage: npm run sandbox -- [workflow] [options]
       npm run sandbox -- upgrade [<version>] [options]

Brings up, on 127.0.0.1 only, a 3-member etcd cluster (TLS, kubeadm-layout certificates), a
real Kubernetes control plane on it (KWOK playing the kubelets), S3 (s3rver), DynamoDB
(dynalite) and a local fleet that runs Caretaker's SSM documents, then runs the workflow's real
state machine with the real handlers and prints a report.

workflows:
${WORKFLOWS.map((w) => {
  const command = w.cli?.verb ?? w.name;
  const first = RUN_FIRST[w.name];
  const what = `${first ? `${first.join(', ')} first, then ` : ''}${w.cli?.summary ?? w.summary}`;
  return `  ${command.padEnd(Math.max(18, ...COMMANDS.map((c) => c.length + 2)))}${what}${command === DEFAULT_WORKFLOW ? ' (default)' : ''}`;
}).join('\n')}
  slack             ChatOps: signed Slack requests to the real receiver (a backup, a retry, forged
                    and replayed requests, an approval gate pressed), Slack's API on a stand-in

remediate scenarios (npm run sandbox -- remediate <scenario> [--dry-run]): ${REMEDIATE_SCENARIOS.join(', ')}

options:
${WORKFLOW_FLAGS.map((f) => `  --${f.flag}${f.option.value ? ` ${f.option.value}` : ''}`.padEnd(20) + `${f.workflow}: ${f.option.description}`).join('\n')}
  --keep            leave everything running after the workflow and print the endpoints;
                    Ctrl-C stops it
  --keys N          /registry keys to seed (default 3000)
  --value-bytes N   bytes per value (default 200); keys × bytes ≈ database size
  --etcd VERSION    the etcd the cluster runs and the nodes' etcdctl/etcdutl: 3.6 (default,
                    what Kubernetes ≥ 1.34 ships), 3.5, or 3.4 (Debian's)
  --no-kubernetes   etcd only: no Kubernetes control plane (API servers behind a load
                    balancer, controller-manager, scheduler, KWOK kubelets, a seeded workload)
                    on it; the --keys filler is then placeholder /registry keys
  --kind kops       kops control-plane nodes: etcd inside etcd-manager-main/-events pods (the
                    crictl stand-in, tools under /opt/etcd-v<version>), a second etcd for
                    events, and a kops state store in the local S3 with etcd-manager backups
  --source SOURCE   kops: who takes the backups, etcd-manager (default) or caretaker
  --events          kops: etcd.events: true, the events etcd (4002) as a second series: Caretaker
                    snapshots it too (--source caretaker), restore-verify checks it in both modes
  --json            print the report as JSON
  -h, --help        this text

EKS workflows (eks-upgrade [<version>], eks-patch-nodegroups) run against LocalEks, an EKS
stand-in on 127.0.0.1 spoken to by the real EKS client, with dynalite; no etcd or Kubernetes
processes (AWS runs those for EKS). eks-upgrade's <version> is the target minor (default: the
next one, 1.32). Their options:
  --dry-run         stop after the preflight (or the patch plan) and report
  --deny            the sandbox's approver denies the upgrade instead of approving it
  --fail RESOURCE   LocalEks fails that update: cluster, addon/<name>, nodegroup/<name>
                    (a node group fails with a PodEvictionFailure); repeatable

upgrade [<version>] starts the cluster one minor below the Kubernetes version built here (its
static pods and kubelets say so) and upgrades it to <version> (default: the built one), with the
sandbox approving as the operator; the report says where the time went.`;

export interface Io {
  out: (line: string) => void;
  err: (line: string) => void;
}

const defaultIo: Io = {
  out: (l) => process.stdout.write(`${l}\n`),
  err: (l) => process.stderr.write(`${l}\n`),
};

/** the sandbox runs offline: dummy credentials, no instance metadata, quiet Lambda logs */
export function offlineEnvironment(): void {
  process.env.AWS_ACCESS_KEY_ID ??= 'sandbox';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'sandbox';
  process.env.AWS_REGION ??= 'eu-west-1';
  process.env.AWS_EC2_METADATA_DISABLED = 'true';
  process.env.AWS_REQUEST_CHECKSUM_CALCULATION = 'WHEN_REQUIRED';
  process.env.AWS_RESPONSE_CHECKSUM_VALIDATION = 'WHEN_REQUIRED';
  process.env.POWERTOOLS_LOG_LEVEL ??= 'SILENT';
  // the sandbox may run on Node 20; Lambda runs 22, so the SDK's upgrade warning is noise here
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

/**
 * What the sandbox runs that npm does not bring: the chosen etcd version's binaries (Debian's
 * 3.4, or 3.5/3.6 from tools/build.sh) and the AWS CLI v2, each with the command that provides it.
 */
export function missingTools(
  version: EtcdVersion = DEFAULT_ETCD_VERSION,
  exists: (path: string) => boolean = existsSync,
  kubernetes = false,
): { path: string; remedy: string }[] {
  const binaries = etcdBinaries(version);
  const tools = [
    ...missingEtcdBinaries(binaries, () => true),
    ...(kubernetes ? missingKubernetesBinaries(kubernetesBinaries(), () => true) : []),
    // the node scripts call it by path: another `aws` on PATH may be the old v1
    { path: '/usr/bin/aws', remedy: 'apt-get install -y awscli' },
  ];
  return tools.filter((t) => !exists(t.path));
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** prints each state as it is entered and left, with the time it took */
export function progressPrinter(io: Io, tty = false) {
  const entered = new Map<string, number>();
  // on a terminal, a ticking line shows that a long step (a 200 MB snapshot) is still going
  let ticking: { state: string; since: number } | undefined;
  let ticker: NodeJS.Timeout | undefined;
  const clearTick = () => {
    if (tty) process.stdout.write('\r\x1b[2K');
  };
  const out = (line: string) => {
    clearTick();
    io.out(line);
  };
  if (tty) {
    ticker = setInterval(() => {
      if (!ticking) return;
      const frames = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
      const n = Math.floor((Date.now() - ticking.since) / 100);
      process.stdout.write(
        `\r\x1b[2K${frames[n % frames.length]} ${ticking.state} ${seconds(Date.now() - ticking.since)}`,
      );
    }, 100);
    ticker.unref();
  }
  const timings: { state: string; ms: number; outcome: 'ok' | 'failed' }[] = [];
  const key = (e: RunEvent) => `${e.index ?? ''}/${e.state?.name ?? ''}`;
  const indent = (e: RunEvent) => (e.index === undefined ? '' : `    [member ${e.index + 1}] `);
  return {
    timings,
    stop() {
      clearTick();
      if (ticker) clearInterval(ticker);
    },
    onEvent(e: RunEvent) {
      if (!e.state) return;
      if (e.type === 'StateEntered') {
        entered.set(key(e), e.timestamp);
        if (e.index === undefined) ticking = { state: e.state.name, since: e.timestamp };
        if (e.state.type !== 'Pass' || e.index === undefined) out(`${indent(e)}▶ ${e.state.name}`);
      } else if (e.type === 'StateExited' || e.type === 'StateFailed') {
        // a caught failure is followed by an exit of the same state: the failure is what happened
        if (e.type === 'StateExited' && !entered.has(key(e))) return;
        const ms = e.timestamp - (entered.get(key(e)) ?? e.timestamp);
        entered.delete(key(e));
        const ok = e.type === 'StateExited';
        if (e.index === undefined) timings.push({ state: e.state.name, ms, outcome: ok ? 'ok' : 'failed' });
        if (e.index === undefined) ticking = undefined;
        out(
          `${indent(e)}${ok ? '✓' : '✗'} ${e.state.name} (${seconds(ms)})${ok ? '' : `: ${String(e.Error ?? '')}`}`,
        );
      }
    },
    onCommand(r: CommandRecord) {
      const ms = (r.endedAt ?? Date.now()) - r.startedAt;
      out(
        `      · ${r.instanceId} ran ${r.documentName}: ${r.invocation.status}, exit ${r.invocation.exitCode} (${seconds(ms)})`,
      );
    },
  };
}

export interface Report {
  workflow: string;
  status: RunResult['status'];
  outcome?: string;
  totalMs: number;
  steps: { state: string; ms: number; outcome: string }[];
  commands: { instanceId: string; document: string; status: string; ms: number }[];
  snapshot?: {
    key: string;
    size: number;
    revision: number;
    sha256: string;
    totalKeys?: number;
    nodeMs?: number;
  };
  verification?: {
    key: string;
    verified: boolean;
    failedCheck: string;
    reason: string;
    restoreSeconds: number | null;
  };
  error?: { Error: string; Cause: string };
  notification?: { subject: string; message: string };
  /** the sandbox's Kubernetes cluster when it runs one: what a person checks with kubectl */
  kubernetes?: KubernetesReport;
}

export interface KubernetesReport {
  version: string;
  nodes: NodeSummary[];
  /** from starting the control plane until the seeded workload ran */
  startupMs: number;
  /** resident memory of the control plane's processes (etcd not included) */
  memoryBytes: number;
}

/** the cluster as kubectl sees it now, with its start-up time and memory */
export async function kubernetesReport(sandbox: SandboxType): Promise<KubernetesReport | undefined> {
  const k = sandbox.kubernetes;
  if (!k) return undefined;
  return {
    version: k.version,
    nodes: await k.nodeSummaries(),
    startupMs: k.startup.total,
    memoryBytes: k.memory().totalBytes,
  };
}

export function buildReport(
  sandbox: SandboxType,
  workflow: string,
  result: RunResult,
  totalMs: number,
  timings: Report['steps'],
): Report {
  const out = (result.output ?? {}) as {
    snapshot?: Record<string, unknown>;
    recorded?: Report['verification'];
  };
  const snap = out.snapshot;
  const notification = sandbox.notifier.messages.at(-1);
  return {
    workflow,
    status: result.status,
    outcome: notification?.attributes.outcome,
    totalMs,
    steps: timings,
    commands: sandbox.fleet.commands.map((c) => ({
      instanceId: c.instanceId,
      document: c.documentName,
      status: c.invocation.status,
      ms: (c.endedAt ?? c.startedAt) - c.startedAt,
    })),
    snapshot: snap
      ? {
          key: String(snap.key),
          size: Number(snap.size),
          revision: Number(snap.revision),
          sha256: String(snap.sha256),
          totalKeys: snap.totalKeys === undefined ? undefined : Number(snap.totalKeys),
          nodeMs: snap.durationMs === undefined ? undefined : Number(snap.durationMs),
        }
      : undefined,
    verification: out.recorded,
    error: result.error,
    notification: notification && { subject: notification.subject, message: notification.message },
  };
}

function printReport(io: Io, r: Report): void {
  io.out('');
  io.out(`── ${r.workflow}: ${r.outcome ?? r.status} in ${seconds(r.totalMs)} ──`);
  for (const s of r.steps)
    io.out(`  ${s.outcome === 'ok' ? '✓' : '✗'} ${s.state.padEnd(48)} ${seconds(s.ms).padStart(8)}`);
  if (r.snapshot) {
    io.out('  snapshot');
    io.out(`    key       ${r.snapshot.key}`);
    io.out(`    size      ${r.snapshot.size} bytes`);
    io.out(`    revision  ${r.snapshot.revision}`);
    io.out(`    sha256    ${r.snapshot.sha256}`);
    if (r.snapshot.totalKeys !== undefined) io.out(`    keys      ${r.snapshot.totalKeys}`);
    if (r.snapshot.nodeMs !== undefined)
      io.out(`    on node   ${seconds(r.snapshot.nodeMs)} (snapshot + checks + upload)`);
  }
  if (r.verification) {
    const v = r.verification;
    io.out(`  verification of ${v.key}`);
    io.out(`    verdict   ${v.verified ? 'verified' : `NOT verified: ${v.failedCheck}: ${v.reason}`}`);
    if (v.restoreSeconds != null)
      io.out(`    RTO       ${v.restoreSeconds} s (restore + start until healthy, measured on the node)`);
  }
  if (r.error) io.out(`  error: ${r.error.Error}: ${r.error.Cause}`);
  // a patch run's message is its report: plan, patched, failed, left cordoned
  if (r.workflow === 'patch-workers' && r.notification) {
    for (const line of r.notification.message.split('\n')) io.out(`  ${line}`);
  }
  if (r.notification) io.out(`  notification: ${r.notification.subject}`);
}

/** the sandbox's cluster as kubectl shows it: once, after the workflows */
function printCluster(io: Io, k: KubernetesReport): void {
  const ready = k.nodes.filter((n) => n.ready).length;
  io.out('');
  io.out(
    `── kubernetes ${k.version}: ${ready}/${k.nodes.length} nodes Ready (control plane up in ${seconds(k.startupMs)}, ${Math.round(k.memoryBytes / 2 ** 20)} MiB resident) ──`,
  );
  for (const n of k.nodes) {
    const status = `${n.ready ? 'Ready' : 'NotReady'}${n.unschedulable ? ',SchedulingDisabled' : ''}`;
    io.out(
      `  ${n.name.padEnd(16)} ${status.padEnd(26)} ${(n.roles.join(',') || '<none>').padEnd(14)} ${n.kubeletVersion}`,
    );
  }
}

/**
 * The sandbox command. Returns the exit code: 0 when the workflow succeeded (Skipped included),
 * 1 when it failed, 2 for bad arguments.
 */
export async function runSandbox(argv: string[], io: Io = defaultIo): Promise<number> {
  let args;
  try {
    args = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        keep: { type: 'boolean' },
        keys: { type: 'string' },
        'value-bytes': { type: 'string' },
        etcd: { type: 'string' },
        'no-kubernetes': { type: 'boolean' },
        kind: { type: 'string' },
        source: { type: 'string' },
        events: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        // the EKS sandbox's (sandbox/eks-main.ts)
        'dry-run': { type: 'boolean' },
        deny: { type: 'boolean' },
        fail: { type: 'string', multiple: true },
        ...Object.fromEntries(WORKFLOW_FLAGS.map((f) => [f.flag, { type: f.option.type }])),
      },
    });
  } catch (e) {
    io.err(`sandbox: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (args.values.help) {
    io.out(USAGE);
    return 0;
  }
  const asked = args.positionals[0] ?? DEFAULT_WORKFLOW;
  if (asked === 'slack') {
    offlineEnvironment();
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runSlackSandbox } = require('./slack') as typeof import('./slack');
    return runSlackSandbox(io);
  }
  const known = SANDBOX_WORKFLOWS.get(asked);
  const workflows = known && [...known];
  if (!workflows) {
    io.err(`sandbox: unknown workflow "${asked}"; available: ${COMMANDS.join(', ')}`);
    return 2;
  }
  const eks = workflowNamed(workflows.at(-1)!);
  if (isEksWorkflow(eks)) {
    offlineEnvironment();
    return runEksSandbox(
      eks!.name,
      {
        version: args.positionals[1],
        dryRun: args.values['dry-run'],
        deny: args.values.deny,
        fail: args.values.fail,
        json: args.values.json,
      },
      io,
    );
  }
  // remediate starts from an alarm event, not from a schedule: a scenario breaks the sandbox first
  if (asked === 'remediate') {
    const scenario = args.positionals[1];
    if (!isRemediateScenario(scenario)) {
      io.err(
        `sandbox: remediate needs a scenario: ${REMEDIATE_SCENARIOS.join(', ')}${scenario ? ` (not "${scenario}")` : ''}`,
      );
      return 2;
    }
    const dryRun = (args.values as Record<string, unknown>)['dry-run'] === true;
    return runRemediate(scenario, { dryRun, json: args.values.json === true }, io);
  }
  const number = (name: string, raw: string | undefined, fallback: number, max: number) => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1 || n > max)
      throw new RangeError(`--${name} must be a whole number from 1 to ${max}, not "${raw}"`);
    return n;
  };
  let keys: number;
  let valueBytes: number;
  try {
    keys = number('keys', args.values.keys, 3000, 2_000_000);
    valueBytes = number('value-bytes', args.values['value-bytes'], 200, 100_000);
  } catch (e) {
    io.err(`sandbox: ${(e as Error).message}`);
    return 2;
  }

  const etcdVersion = args.values.etcd ?? DEFAULT_ETCD_VERSION;
  if (!isEtcdVersion(etcdVersion)) {
    io.err(`sandbox: --etcd must be one of ${ETCD_VERSIONS.join(', ')}, not "${etcdVersion}"`);
    return 2;
  }

  const kind = args.values.kind ?? 'kubeadm';
  const backupSource = args.values.source;
  if (kind !== 'kubeadm' && kind !== 'kops') {
    io.err(`sandbox: --kind must be kubeadm or kops, not "${kind}"`);
    return 2;
  }
  if (
    backupSource !== undefined &&
    (kind !== 'kops' || !['caretaker', 'etcd-manager'].includes(backupSource))
  ) {
    io.err(`sandbox: --source is for --kind kops: caretaker or etcd-manager, not "${backupSource}"`);
    return 2;
  }
  const kopsEvents = args.values.events === true;
  if (kopsEvents && kind !== 'kops') {
    io.err('sandbox: --events is for --kind kops (only kops runs a separate events etcd)');
    return 2;
  }
  // a restore-verify run judges one series (main first): with --events a second run takes events
  if (kopsEvents && workflows.at(-1) === 'restore-verify') workflows.push('restore-verify');
  const kubernetes = args.values['no-kubernetes'] !== true;
  // patch-control-plane runs the upgrade's path: the same control plane, the same approver
  const upgrading = workflows.includes('upgrade-control-plane') || workflows.includes('patch-control-plane');
  if (upgrading && !kubernetes) {
    io.err('sandbox: upgrade needs the Kubernetes control plane; leave out --no-kubernetes');
    return 2;
  }
  const missing = missingTools(etcdVersion, existsSync, kubernetes);
  if (missing.length > 0) {
    io.err(
      `sandbox: missing ${missing.map((m) => m.path).join(', ')}; run ` +
        `${[...new Set(missing.map((m) => m.remedy))].join('; ')} (npm run setup does both, as root)`,
    );
    return 1;
  }
  offlineEnvironment();
  // after the environment: the handlers read it when they load
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Sandbox } = require('./sandbox') as typeof import('./sandbox');
  const quiet = args.values.json === true;
  const progress = progressPrinter(
    quiet ? { out: () => undefined, err: io.err } : io,
    !quiet && io === defaultIo && process.stdout.isTTY === true,
  );

  io.err(
    `sandbox: starting etcd ${etcdVersion} ×3${kubernetes ? ', Kubernetes' : ''}, s3rver, dynalite (${keys} keys × ${valueBytes} bytes)…`,
  );
  let sandbox: SandboxType | undefined;
  let stopping: Promise<void> | undefined;
  const stop = () => (stopping ??= sandbox ? sandbox.stop() : Promise.resolve());
  const onSignal = (signal: NodeJS.Signals) => {
    io.err(`\nsandbox: ${signal}: stopping everything it started…`);
    void stop().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const upStarted = Date.now();
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- after the environment, as Sandbox
    const upgrade = upgrading ? (require('./upgrade') as typeof import('./upgrade')) : undefined;
    const built = upgrading ? kubernetesBinaries().version : '';
    const upgradeTo = args.positionals[1] ?? built;
    sandbox = await Sandbox.start({
      keys,
      valueBytes,
      etcdVersion,
      kubernetes,
      kind,
      backupSource: backupSource as 'caretaker' | 'etcd-manager' | undefined,
      ...(kopsEvents ? { kopsEvents } : {}),
      afterCommand: (r) => progress.onCommand(r),
      ...(upgrade
        ? { upgradeFrom: upgrade.previousMinor(built), onApprovalRequested: upgrade.approveAsOperator }
        : {}),
    });
    io.err(`sandbox: up in ${seconds(Date.now() - upStarted)}; running ${workflows.join(', then ')}`);
    const reports: Report[] = [];
    for (const workflow of workflows) {
      const started = Date.now();
      progress.timings.length = 0;
      // the asked workflow's own flags become its input fields (`--dry-run` → dryRun)
      const values = args.values as Record<string, string | boolean | undefined>;
      const input = {
        ...SANDBOX_INPUT[workflow as WorkflowName],
        ...Object.fromEntries(
          WORKFLOW_FLAGS.filter((f) => f.workflow === workflow && values[f.flag] !== undefined).map((f) => [
            f.option.field,
            values[f.flag]!,
          ]),
        ),
      };
      const events: RunEvent[] = [];
      const onEvent = (e: RunEvent) => {
        events.push(e);
        progress.onEvent(e);
      };
      const result =
        upgrade && workflow === 'upgrade-control-plane'
          ? await upgrade.upgradeSandbox(sandbox, String(input['version'] ?? upgradeTo), onEvent, input)
          : upgrade && workflow === 'patch-control-plane'
            ? await upgrade.patchControlPlaneSandbox(sandbox, onEvent, input)
            : await sandbox.run(workflow, onEvent, input);
      if (upgrade && workflow === 'upgrade-control-plane' && sandbox.upgrades && !args.values.json) {
        const t = upgrade.upgradeTiming(events, sandbox.upgrades.timeline);
        const restarts = sandbox.upgrades.restarts.map((r) => `${r.node} ${seconds(r.downMs)}`).join(', ');
        io.out(
          `── upgrade to ${upgradeTo}: ${seconds(t.totalMs)} in all; Caretaker's own Wait states ${seconds(t.waitStatesMs)}; ` +
            `nested backup ${seconds(t.backupMs)}; each node out of service ${t.perNodeMs.map((n) => seconds(n.outOfServiceMs)).join(', ')}; ` +
            `API server restarts ${restarts} ──`,
        );
      }
      const report = buildReport(sandbox, workflow, result, Date.now() - started, [...progress.timings]);
      report.kubernetes = await kubernetesReport(sandbox);
      reports.push(report);
      if (!args.values.json) printReport(io, report);
      if (result.status !== 'SUCCEEDED') break;
    }
    if (args.values.json) io.out(JSON.stringify(reports.length === 1 ? reports[0] : reports, null, 2));
    const cluster = reports.at(-1)?.kubernetes;
    if (cluster && !args.values.json) printCluster(io, cluster);

    if (args.values.keep) {
      const ep = sandbox.endpoints();
      io.out('\nThe sandbox stays up; Ctrl-C stops it.');
      io.out(`  etcd:      ${ep.etcd.join(' ')}`);
      io.out(`  S3:        ${ep.s3} (bucket ${ep.bucket})`);
      io.out(`  DynamoDB:  ${ep.dynamodb} (table ${ep.table})`);
      io.out(`  try:       ${ep.etcdctl}`);
      io.out(`  try:       ${ep.awsS3Ls}`);
      if (ep.kubeconfig) {
        io.out(
          `  Kubernetes: ${ep.kubernetes} (a load balancer in front of ${sandbox.kubernetes?.apiServers.length} API servers)`,
        );
        io.out(`  try:       KUBECONFIG=${ep.kubeconfig} kubectl get nodes`);
        io.out(
          `             (kubectl ${sandbox.kubernetes?.binaries.version} is ${sandbox.kubernetes?.binaries.kubectl})`,
        );
      }
      await new Promise<void>(() => undefined); // until a signal stops it
    }
    return reports.length === workflows.length && reports.every((r) => r.status === 'SUCCEEDED') ? 0 : 1;
  } catch (e) {
    io.err(`sandbox: ${(e as Error).stack ?? String(e)}`);
    return 1;
  } finally {
    progress.stop();
    await stop();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
  }
}

/**
 * `remediate <scenario>`: an etcd-only sandbox (Kubernetes too for the node scenarios), broken as the scenario
 * says, the alarm through route-alarm, the remediation run; 0 when it succeeded, else 1.
 */
async function runRemediate(
  scenario: RemediateScenario,
  options: { dryRun: boolean; json: boolean },
  io: Io,
): Promise<number> {
  const s = SCENARIOS[scenario];
  // the node scenarios need the Kubernetes control plane and KWOK
  const missing = missingTools(DEFAULT_ETCD_VERSION, existsSync, s.kubernetes === true);
  if (missing.length > 0) {
    io.err(
      `sandbox: missing ${missing.map((m) => m.path).join(', ')}; run ${[...new Set(missing.map((m) => m.remedy))].join('; ')}`,
    );
    return 1;
  }
  offlineEnvironment();
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Sandbox } = require('./sandbox') as typeof import('./sandbox');
  const progress = progressPrinter(options.json ? { out: () => undefined, err: io.err } : io);
  io.err(
    `sandbox: remediate ${scenario}: ${s.summary}; starting etcd ×3, ${s.kubernetes ? 'Kubernetes (API servers, KWOK), ' : ''}s3rver, dynalite…`,
  );
  let sandbox: SandboxType | undefined;
  try {
    sandbox = await Sandbox.start({
      keys: 300,
      kubernetes: s.kubernetes === true,
      ...(s.quotaBackendBytes && { quotaBackendBytes: s.quotaBackendBytes }),
      ...(s.clusterConfig && { clusterConfig: s.clusterConfig }),
      afterCommand: (r) => progress.onCommand(r),
    });
    const started = Date.now();
    const run = await runScenario(sandbox, scenario, {
      dryRun: options.dryRun,
      onEvent: (e) => progress.onEvent(e),
    });
    if (options.json) {
      io.out(
        JSON.stringify(
          {
            ...run,
            result: run.result && {
              status: run.result.status,
              output: run.result.output,
              error: run.result.error,
            },
          },
          null,
          2,
        ),
      );
    } else {
      io.out('');
      io.out(`── remediate ${scenario}${options.dryRun ? ' (dry run)' : ''} ──`);
      io.out('  before:');
      for (const l of run.before) io.out(`    ${l}`);
      io.out(
        `  route-alarm: ${run.routed.started ? `started ${String(run.routed.name)} (route ${String(run.routed.route)})` : `ignored: ${String(run.routed.reason)}`}`,
      );
      if (run.result) {
        io.out(`  status ${run.result.status} in ${seconds(Date.now() - started)}`);
        if (run.result.error) io.out(`  error: ${run.result.error.Error}: ${run.result.error.Cause}`);
      }
      const note = sandbox.notifier.messages.at(-1);
      if (note) {
        io.out(`  notification: ${note.subject}`);
        for (const line of note.message.split('\n')) io.out(`    ${line}`);
      }
      io.out('  after:');
      for (const l of run.after) io.out(`    ${l}`);
    }
    return run.result?.status === 'SUCCEEDED' ? 0 : 1;
  } catch (e) {
    io.err(`sandbox: ${(e as Error).stack ?? String(e)}`);
    return 1;
  } finally {
    progress.stop();
    await sandbox?.stop();
  }
}

if (require.main === module) {
  runSandbox(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`${String(e)}\n`);
      process.exit(1);
    },
  );
}
