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
}

export const WORKFLOWS: readonly WorkflowInfo[] = [
  {
    command: 'backup',
    workflow: 'etcd-backup',
    output: 'EtcdBackupStateMachineArn',
    etcd: true,
    summary: 'take an etcd snapshot now, as the schedule does',
  },
  {
    command: 'restore-verify',
    workflow: 'restore-verify',
    output: 'RestoreVerifyStateMachineArn',
    etcd: true,
    summary: 'restore the newest snapshot into a scratch etcd and mark it verified',
  },
  {
    command: 'patch',
    workflow: 'patch-workers',
    output: 'PatchWorkersStateMachineArn',
    etcd: false,
    summary: "patch and reboot a cluster's workers, one at a time",
  },
  {
    command: 'upgrade',
    workflow: 'upgrade-control-plane',
    output: 'UpgradeControlPlaneStateMachineArn',
    etcd: false,
    summary: "upgrade a cluster's control plane, one node at a time",
  },
];

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
