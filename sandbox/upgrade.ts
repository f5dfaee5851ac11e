/**
 * `npm run sandbox -- upgrade [<version>]`: the control-plane upgrade on the sandbox's real API
 * servers and etcd. The sandbox plays the operator who approves the plan (`caretaker approve`),
 * and its Wait states wait for real, a second each (AWS: 10-15 s), because the sandbox's load
 * balancer really drains (2 s) and its API servers really restart.
 */
import { decideApproval } from '../functions/shared/services/approvals';
import type { Json, RunEvent, RunResult } from './asl-runner';
import type { TimelineEvent } from './elbv2-target-groups';
import { configDirectory } from './local-adapters';
import type { Sandbox } from './sandbox';

/** the upgrade's Wait states in the sandbox, ms */
export const UPGRADE_WAIT_MS: Record<string, number> = {
  'Give the load balancer time to drain the node': 1000,
  'Give the node time to come back': 1000,
  'Give the load balancer time to check the node': 1000,
};

/** the upgrade's state that runs patch-workers for the workers' kubelets */
const WORKERS_STATE = "Upgrade the workers' kubelets in the patching sliding window";

/** who approves in the sandbox: not the requester (self-approval is refused by default) */
export const SANDBOX_APPROVER = 'cli:sandbox-operator';

/** approves every gate of the sandbox's runs as the operator, once it is recorded */
export async function approveAsOperator(request: Record<string, unknown>, sandbox: Sandbox): Promise<void> {
  await decideApproval(
    { executionId: String(request['executionId']), decision: 'approve', by: SANDBOX_APPROVER },
    {
      approvals: sandbox.approvals,
      callbacks: sandbox.broker,
      clusters: configDirectory([sandbox.cluster]),
      clock: { now: () => new Date() },
    },
  );
}

/** runs upgrade-control-plane to `version` (the sandbox must have been started with approveAsOperator) */
export function upgradeSandbox(
  sandbox: Sandbox,
  version: string,
  onEvent?: (e: RunEvent) => void,
  input: Record<string, Json> = {},
): Promise<RunResult> {
  return sandbox.run(
    'upgrade-control-plane',
    onEvent,
    { ...input, version, requestedBy: 'cli:sandbox' },
    undefined,
    UPGRADE_WAIT_MS,
  );
}

/** patch-control-plane's Wait states in the sandbox, ms: the upgrade's and the patched node's return */
export const PATCH_CONTROL_PLANE_WAIT_MS: Record<string, number> = {
  ...UPGRADE_WAIT_MS,
  'Give the patched node time to come back': 1000,
};

/** runs patch-control-plane (the upgrade's ASL with os-patch); started with approveAsOperator */
export function patchControlPlaneSandbox(
  sandbox: Sandbox,
  onEvent?: (e: RunEvent) => void,
  input: Record<string, Json> = {},
): Promise<RunResult> {
  return sandbox.run(
    'patch-control-plane',
    onEvent,
    { ...input, requestedBy: 'cli:sandbox' },
    undefined,
    PATCH_CONTROL_PLANE_WAIT_MS,
  );
}

export interface UpgradeTiming {
  totalMs: number;
  /** in the upgrade's own Wait states (drain, gate and health-check polling) */
  waitStatesMs: number;
  /** from each deregistration to the last node's re-registration: nodes out of service in turn */
  perNodeMs: { node: string; outOfServiceMs: number }[];
  /** the nested backup */
  backupMs: number;
  /** the nested patch-workers run of the workers' kubelets (0 when it did not run) */
  workersMs: number;
}

/** where a run's time went, from its events and the sandbox's timeline */
export function upgradeTiming(
  events: readonly RunEvent[],
  timeline: readonly TimelineEvent[],
): UpgradeTiming {
  let waitStatesMs = 0;
  const entered = new Map<string, number>();
  let backupStart = 0;
  let backupMs = 0;
  let workersStart = 0;
  let workersMs = 0;
  for (const e of events) {
    const name = e.state?.name ?? '';
    const key = `${e.index ?? ''}|${name}`;
    if (e.type === 'StateEntered') entered.set(key, e.timestamp);
    if (e.type === 'StateExited' && name in UPGRADE_WAIT_MS)
      waitStatesMs += e.timestamp - (entered.get(key) ?? e.timestamp);
    if (e.type === 'StateEntered' && name === 'Take a fresh snapshot under this lock')
      backupStart = e.timestamp;
    if (e.type === 'StateExited' && name === 'Take a fresh snapshot under this lock')
      backupMs = e.timestamp - backupStart;
    if (e.workflow === undefined && name === WORKERS_STATE) {
      if (e.type === 'StateEntered') workersStart = e.timestamp;
      if (e.type === 'StateExited') workersMs = e.timestamp - workersStart;
    }
  }
  const perNodeMs: UpgradeTiming['perNodeMs'] = [];
  for (const out of timeline.filter((t) => t.kind === 'deregister')) {
    const back = timeline.find((t) => t.kind === 'register' && t.subject === out.subject && t.at >= out.at);
    if (back) perNodeMs.push({ node: out.subject, outOfServiceMs: back.at - out.at });
  }
  const times = events.map((e) => e.timestamp);
  return { totalMs: Math.max(...times) - Math.min(...times), waitStatesMs, perNodeMs, backupMs, workersMs };
}

export { previousMinor } from './control-plane-upgrades';
