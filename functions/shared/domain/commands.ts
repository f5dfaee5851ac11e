import type { ClusterConfig } from './config';
import { InvalidInputError } from '../errors';

/**
 * The catalog of what Caretaker may run on a node: each entry is one of our own SSM documents,
 * with its parameters built from the cluster's configuration — never free text.
 */
export const COMMANDS = ['etcd-status', 'etcd-snapshot'] as const;
export type CommandName = (typeof COMMANDS)[number];

export interface CommandPlan {
  command: CommandName;
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
      return { command, parameters: access, executionTimeoutSeconds: 120 };
    case 'etcd-snapshot':
      return {
        command,
        parameters: {
          ...access,
          Cluster: cluster.name,
          Bucket: context.bucket,
          DataDir: etcd.dataDir,
          ExecutionId: context.executionId,
        },
        executionTimeoutSeconds: 1800,
      };
  }
}
