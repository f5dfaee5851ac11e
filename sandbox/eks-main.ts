/**
 * `npm run sandbox -- eks-upgrade [<version>]` and `npm run sandbox -- eks-patch-nodegroups`:
 * the EKS sandbox (sandbox/eks-sandbox.ts) runs the real ASL end to end and prints what changed.
 */
import { eksUpgrade, workflowNamed, type Workflow } from '../functions/shared/workflows';
import { parseMinorVersion } from '../functions/shared/domain/eks';
import type { RunResult } from './asl-runner';
import type { InjectedFailure } from './local-eks';
import type { EksSandbox as EksSandboxType } from './eks-sandbox';
import type { Io } from './main';

export interface EksRunOptions {
  /** the target of eks-upgrade (default: the next minor) */
  version?: string;
  dryRun?: boolean;
  deny?: boolean;
  /** `cluster`, `addon/<name>` or `nodegroup/<name>`: LocalEks fails that update */
  fail?: string[];
  json?: boolean;
}

/** is this registry workflow one the EKS sandbox runs? */
export function isEksWorkflow(w: Workflow | undefined): boolean {
  return w?.onlyFor?.includes('eks') === true;
}

export interface EksReport {
  workflow: string;
  status: RunResult['status'];
  outcome?: string;
  before: ReturnType<EksSandboxType['versions']>;
  after: ReturnType<EksSandboxType['versions']>;
  changes: { operation: string; path: string; body: Record<string, unknown> }[];
  approvals: EksSandboxType['decisions'];
  error?: { Error: string; Cause: string };
  notification?: { subject: string; message: string };
  totalMs: number;
}

/**
 * Runs one EKS workflow in the EKS sandbox. Returns the exit code: 0 succeeded, 1 failed, 2 bad
 * arguments (a malformed version or --fail, a version for a workflow that takes none).
 */
export async function runEksSandbox(workflowName: string, options: EksRunOptions, io: Io): Promise<number> {
  const workflow = workflowNamed(workflowName)!;
  if (options.version !== undefined) {
    if (workflow.name !== eksUpgrade.name) {
      io.err(`sandbox: ${workflow.name} takes no version (only eks-upgrade does)`);
      return 2;
    }
    try {
      parseMinorVersion(options.version);
    } catch (e) {
      io.err(`sandbox: ${(e as Error).message}`);
      return 2;
    }
  }
  const failures: InjectedFailure[] = [];
  for (const f of options.fail ?? []) {
    if (!/^(cluster|addon\/[a-z0-9-]+|nodegroup\/[A-Za-z0-9_-]+)$/.test(f)) {
      io.err(`sandbox: --fail must be cluster, addon/<name> or nodegroup/<name>, not "${f}"`);
      return 2;
    }
    failures.push(
      f.startsWith('nodegroup/')
        ? {
            resource: f,
            errors: [
              {
                errorCode: 'PodEvictionFailure',
                errorMessage: `Reached max retries while trying to evict pods from nodes in node group ${f.slice(10)}`,
                resourceIds: ['payments/api-7d9f8c6b5-x2x4q'],
              },
            ],
          }
        : {
            resource: f,
            errors: [
              {
                errorCode: 'InternalFailure',
                errorMessage: 'the sandbox was told to fail this update',
                resourceIds: [],
              },
            ],
          },
    );
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- after offlineEnvironment(): the handlers read it when they load
  const { EksSandbox, EKS_SANDBOX_CLUSTER } = require('./eks-sandbox') as typeof import('./eks-sandbox');
  io.err(`sandbox: starting LocalEks (an EKS ${'1.31'} cluster "${EKS_SANDBOX_CLUSTER}") and dynalite…`);
  const sandbox = await EksSandbox.start({ failures, approval: options.deny ? 'deny' : 'approve' });
  const started = Date.now();
  try {
    const before = sandbox.versions();
    const input = {
      ...(options.version !== undefined && { version: options.version }),
      ...(options.dryRun && { dryRun: true }),
    };
    const quiet = options.json === true;
    const result = await sandbox.run(workflow.name, input, (e) => {
      if (quiet || !e.state || e.index !== undefined) return;
      if (e.type === 'StateEntered' && e.state.type !== 'Pass') io.out(`▶ ${e.state.name}`);
      if (e.type === 'StateFailed') io.out(`✗ ${e.state.name}: ${String(e.Error ?? '')}`);
    });
    const notification = sandbox.notifier.messages
      .filter((m) => m.attributes.outcome !== 'ApprovalRequested')
      .at(-1);
    const report: EksReport = {
      workflow: workflow.name,
      status: result.status,
      outcome: notification?.attributes.outcome,
      before,
      after: sandbox.versions(),
      changes: sandbox.eks.changes().map(({ operation, path, body }) => ({ operation, path, body })),
      approvals: sandbox.decisions,
      error: result.error,
      notification: notification && { subject: notification.subject, message: notification.message },
      totalMs: Date.now() - started,
    };
    if (quiet) io.out(JSON.stringify(report, null, 2));
    else printEksReport(io, report);
    return result.status === 'SUCCEEDED' ? 0 : 1;
  } finally {
    await sandbox.stop();
  }
}

function printEksReport(io: Io, r: EksReport): void {
  io.out('');
  io.out(`── ${r.workflow}: ${r.outcome ?? r.status} in ${(r.totalMs / 1000).toFixed(1)} s ──`);
  for (const a of r.approvals) io.out(`  approval ${a.approvalId}: ${a.decision} by ${a.by}`);
  io.out('  EKS changes (as LocalEks received them):');
  for (const c of r.changes) io.out(`    ${c.operation} ${c.path} ${JSON.stringify(c.body)}`);
  if (r.changes.length === 0) io.out('    none');
  io.out(`  control plane  ${r.before.cluster} → ${r.after.cluster}`);
  for (const [name, v] of Object.entries(r.after.addons))
    io.out(`  add-on ${name.padEnd(20)} ${r.before.addons[name]} → ${v}`);
  for (const [name, v] of Object.entries(r.after.nodegroups))
    io.out(`  node group ${name.padEnd(16)} ${r.before.nodegroups[name]} → ${v}`);
  if (r.error) io.out(`  error: ${r.error.Error}: ${r.error.Cause}`);
  if (r.notification) io.out(`\n${r.notification.subject}\n${r.notification.message}`);
}
