import type { ZodType } from '../functions/shared/zod';
import { WORKFLOWS as REGISTRY, stackOutput, type CliOption } from '../functions/shared/workflows';

/** the workflows a cluster command can start, and where each one's state machine ARN lives */
export interface WorkflowInfo {
  /** the CLI command */
  command: string;
  /** the workflow's name: execution-name prefix, `operation` of the lock */
  workflow: string;
  /** the `Caretaker-<region>` stack output holding the state machine ARN */
  output: string;
  /** one line for --help */
  summary: string;
  /** works on etcd itself, so makes no sense on EKS */
  etcd: boolean;
  /** runs only on clusters of these kinds (the EKS workflows); absent = any */
  onlyFor?: readonly string[];
  /** the execution input's schema: the CLI parses what it sends, as start-workflow does */
  input: ZodType;
  /** flags that set fields of the execution input (`--key KEY`) */
  options: Readonly<Record<string, CliOption>>;
}

/** every registry workflow with a CLI verb; a workflow that does not exist has no verb */
export const WORKFLOWS: readonly WorkflowInfo[] = REGISTRY.flatMap((w) =>
  w.cli
    ? [
        {
          command: w.cli.verb,
          workflow: w.name,
          output: stackOutput(w.name),
          summary: w.cli.summary,
          etcd: w.needsEtcd,
          ...(w.onlyFor && { onlyFor: w.onlyFor }),
          input: w.input,
          options: w.cli.options ?? {},
        },
      ]
    : [],
);

export function workflowByCommand(command: string): WorkflowInfo | undefined {
  return WORKFLOWS.find((w) => w.command === command);
}

/** etcd-backup → CARETAKER_ETCD_BACKUP_ARN */
export function arnEnvVar(workflow: WorkflowInfo): string {
  return `CARETAKER_${workflow.workflow.toUpperCase().replace(/-/g, '_')}_ARN`;
}

export function stackName(region: string): string {
  return `Caretaker-${region}`;
}

/**
 * Does this execution belong to the cluster? One state machine serves every cluster, and both
 * the schedule and the CLI name executions `<workflow>-<cluster>-<yyyymmddThhmmssZ>[-suffix]`;
 * the timestamp keeps `prod` from matching `prod-eu`'s executions.
 */
export function isClusterExecution(name: string, workflow: WorkflowInfo, cluster: string): boolean {
  const prefix = `${workflow.workflow}-${cluster}-`;
  return name.startsWith(prefix) && /^\d{8}T\d{6}Z(-|$)/.test(name.slice(prefix.length));
}
