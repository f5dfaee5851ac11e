import type { ClusterConfig } from './config';
import { InvalidInputError } from '../errors';
import { parseSnapshotKey } from './snapshot-key';

/**
 * The catalog of what Caretaker may run on a node: each entry is one of our own SSM documents,
 * with its parameters built from the cluster's configuration — never free text.
 */
export const COMMANDS = ['etcd-status', 'etcd-snapshot', 'etcd-restore-verify'] as const;
export type CommandName = (typeof COMMANDS)[number];

/** which nodes a command may run on: the cluster's own control plane, or its scratch instances */
export type CommandTarget = 'control-plane' | 'scratch';

export interface CommandPlan {
  command: CommandName;
  target: CommandTarget;
  parameters: Record<string, string>;
  /**
   * how long the script may run: the document's own `timeoutSeconds` (ssm-documents/*.yaml).
   * The Step Functions Task's TimeoutSeconds is longer; the reconciler's deadline derives from it.
   */
  executionTimeoutSeconds: number;
}

export interface CommandContext {
  executionId: string;
  bucket: string;
  /** the snapshot a restore verification checks */
  snapshotKey?: string;
}

/** @throws InvalidInputError when the cluster has no etcd Caretaker can reach (EKS) */
export function planCommand(
  command: CommandName,
  cluster: ClusterConfig,
  context: CommandContext,
): CommandPlan {
  const etcd = cluster.etcd;
  if (!etcd) {
    throw new InvalidInputError(
      `cluster ${cluster.name} is ${cluster.kind}: it has no etcd for ${command} to reach`,
    );
  }
  const access = {
    EtcdPort: String(etcd.clientPort),
    CaFile: etcd.caFile,
    CertFile: etcd.certFile,
    KeyFile: etcd.keyFile,
    EtcdctlMode: etcd.etcdctl,
  };
  switch (command) {
    case 'etcd-status':
      return { command, target: 'control-plane', parameters: access, executionTimeoutSeconds: 120 };
    case 'etcd-snapshot':
      return {
        command,
        target: 'control-plane',
        parameters: {
          ...access,
          Cluster: cluster.name,
          Bucket: context.bucket,
          DataDir: etcd.dataDir,
          ExecutionId: context.executionId,
        },
        executionTimeoutSeconds: 1800,
      };
    case 'etcd-restore-verify': {
      const ref = context.snapshotKey ? parseSnapshotKey(context.snapshotKey) : undefined;
      if (!ref || ref.cluster !== cluster.name) {
        throw new InvalidInputError(
          `args.key: "${context.snapshotKey ?? ''}" is not a snapshot key of ${cluster.name}`,
        );
      }
      return {
        command,
        target: 'scratch',
        // the scratch instance runs its own etcd: no access to the cluster's members at all
        parameters: {
          Cluster: cluster.name,
          Bucket: context.bucket,
          Key: ref.key,
          ExecutionId: context.executionId,
        },
        executionTimeoutSeconds: 1800,
      };
    }
  }
}
