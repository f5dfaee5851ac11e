/**
 * The one registry of workflows. A new workflow is its ASL file, one entry here (its own
 * module beside this one), its commands, its Lambdas and its tests: the stack wiring, the
 * schedules, the sandbox's handler table, the CLI verb, the config block and
 * docs/contracts.md all derive from this list.
 */
import { etcdBackup } from './etcd-backup';
import { restoreVerify } from './restore-verify';
import { eksUpgrade } from './eks-upgrade';
import { eksPatchNodegroups } from './eks-patch-nodegroups';
import { upgradeControlPlane } from './upgrade-control-plane';
import { patchWorkers } from './patch-workers';
import { remediate } from './remediate';
import type { WorkflowDefinition } from './workflow';

// remediate last: it nests etcd-backup, which the stack builds first
export const WORKFLOWS = [
  etcdBackup,
  restoreVerify,
  patchWorkers,
  upgradeControlPlane,
  eksUpgrade,
  eksPatchNodegroups,
  remediate,
] as const;

export type Workflow = (typeof WORKFLOWS)[number];
export type WorkflowName = Workflow['name'];
/** any registry entry, without its literal types */
export type AnyWorkflow = WorkflowDefinition<string, Workflow['input'], string, never, never>;

type SettingsOf<W> = W extends { config: { resolve: (...args: never[]) => infer S } } ? S : never;
type KeyOf<W> = W extends { config: { key: infer K extends string } } ? K : never;
type OptionalKeys = {
  [W in Workflow as undefined extends SettingsOf<W> ? KeyOf<W> : never]?: Exclude<SettingsOf<W>, undefined>;
};
type RequiredKeys = {
  [W in Workflow as undefined extends SettingsOf<W> ? never : KeyOf<W>]: SettingsOf<W>;
};

/** each workflow's resolved block of a cluster: `backup`, `restoreVerify?` (absent = off) */
export type WorkflowSettings = RequiredKeys & OptionalKeys;

/**
 * The registry entry of that name; own entries only, so `constructor` or `__proto__` is no
 * workflow.
 */
export function workflowNamed(name: string): Workflow | undefined {
  return WORKFLOWS.find((w) => w.name === name);
}

/** every function some workflow's ASL names, sorted */
export function workflowFunctions(): string[] {
  const names = new Set<string>();
  for (const w of WORKFLOWS) {
    for (const target of Object.values<string>(w.substitutions)) {
      if (!WORKFLOWS.some((other) => other.name === target)) names.add(target);
    }
  }
  return [...names].sort();
}

/** the settings a workflow reads from a resolved cluster (`cluster.backup`) */
export function settingsOf(workflow: Workflow, cluster: WorkflowSettings): unknown {
  return (cluster as Record<string, unknown>)[workflow.config.key];
}

/** when the cluster's schedule starts the workflow, or undefined */
export function scheduleOf(
  workflow: Workflow,
  cluster: WorkflowSettings,
): { expression: string; timeZone: string } | undefined {
  const schedule = workflow.schedule as (s: unknown) => { expression: string; timeZone: string } | undefined;
  return schedule(settingsOf(workflow, cluster));
}

/** is the workflow deployed in a stack with these clusters? */
export function isDeployedFor(workflow: Workflow, clusters: readonly WorkflowSettings[]): boolean {
  const deployedFor = (workflow as { deployedFor?: (s: unknown[]) => boolean }).deployedFor;
  return deployedFor ? deployedFor(clusters.map((c) => settingsOf(workflow, c))) : true;
}

export * from './workflow';
export { etcdBackup } from './etcd-backup';
export { restoreVerify } from './restore-verify';
export { eksUpgrade } from './eks-upgrade';
export { eksPatchNodegroups } from './eks-patch-nodegroups';
export { upgradeControlPlane } from './upgrade-control-plane';
export { patchWorkers } from './patch-workers';
export { remediate } from './remediate';
