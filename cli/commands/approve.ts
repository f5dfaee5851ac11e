import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dynamoApprovalStore } from '../../functions/shared/adapters/aws/dynamo-approval-store';
import { sfnTaskCallbacks } from '../../functions/shared/adapters/aws/sfn-task-callbacks';
import { ApprovalRefusedError, type Decision } from '../../functions/shared/domain/approvals';
import { ClusterNotFoundError } from '../../functions/shared/errors';
import type { ClusterDirectory } from '../../functions/shared/ports';
import { decideApproval } from '../../functions/shared/services/approvals';
import { findCluster, loadConfig } from '../config';
import { CliError, UsageError, type CliDeps, type Io } from '../context';
import { json } from '../format';
import { arnRegion, StackLookup } from '../stack';
import { WORKFLOWS, type WorkflowInfo } from '../workflows';

export interface DecideOptions {
  decision: Decision;
  /** an execution ARN, or an execution name as `caretaker <verb>` and Slack print it */
  execution: string;
  reason?: string;
  /** the decider's name; default $CARETAKER_USER, else $USER */
  as?: string;
  region?: string;
  /** the operations table; default $CARETAKER_TABLE, else the stack's OperationsTableName output */
  table?: string;
  config?: string;
  json: boolean;
}

/** `<workflow>-<cluster>-<yyyymmddThhmmssZ>[-suffix]` → the workflow and cluster it names */
export function parseExecutionName(name: string): { workflow: WorkflowInfo; cluster: string } | undefined {
  for (const workflow of [...WORKFLOWS].sort((a, b) => b.workflow.length - a.workflow.length)) {
    const m = new RegExp(`^${workflow.workflow}-([a-z0-9-]+?)-\\d{8}T\\d{6}Z(-|$)`).exec(name);
    if (m) return { workflow, cluster: m[1]! };
  }
  return undefined;
}

/**
 * `caretaker approve|deny <execution>`: decides the execution's pending approval gate with
 * the shared decideApproval (the cluster's approver and self-approval rules, one decision only),
 * then SendTaskSuccess / SendTaskFailure. The decider is `cli:<--as | $CARETAKER_USER | $USER>`;
 * the CLI's real gate is IAM (who may read the table and call states:SendTask*), the name is
 * what the audit trail and the approver list see.
 * @throws UsageError without a name or (deny) a reason; CliError when the decision is refused
 */
export async function decide(io: Io, deps: CliDeps, options: DecideOptions): Promise<number> {
  const verb = options.decision;
  const name = options.as ?? io.env.CARETAKER_USER ?? io.env.USER;
  if (!name || !/^[A-Za-z0-9@._+-]{1,60}$/.test(name)) {
    throw new UsageError(`${verb}: say who decides with --as NAME (or set CARETAKER_USER)`, verb);
  }
  if (verb === 'deny' && !options.reason?.trim()) {
    throw new UsageError('deny: --reason is required (the requester reads it)', verb);
  }
  const { file, config } = loadConfig(io, deps, options.config);
  let executionId = options.execution;
  let region = options.region ?? arnRegion(executionId);
  let lookup: StackLookup | undefined;
  // one DescribeStacks for the state machine and the table
  const stack = (r: string) => (lookup?.region === r ? lookup : (lookup = new StackLookup(r, io, deps)));
  if (!executionId.startsWith('arn:')) {
    const named = parseExecutionName(executionId);
    if (!named) {
      throw new UsageError(
        `${verb}: "${executionId}" is neither an execution ARN nor a Caretaker execution name (<workflow>-<cluster>-<time>…)`,
        verb,
      );
    }
    const cluster = findCluster(config, file, named.cluster);
    region = options.region ?? cluster.region;
    const stateMachineArn = await stack(region).stateMachineArn(named.workflow, undefined);
    executionId = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${executionId}`;
  }
  region ??= config.clusters[0]!.region;
  const table = options.table ?? io.env.CARETAKER_TABLE ?? (await stack(region).operationsTable());
  const clusters: ClusterDirectory = {
    async get(cluster) {
      const found = config.clusters.find((c) => c.name === cluster);
      if (!found) throw new ClusterNotFoundError(`cluster "${cluster}" is not in ${file}`);
      return found;
    },
  };
  const dynamo = deps.dynamo?.(region) ?? DynamoDBDocumentClient.from(new DynamoDBClient({ region }));
  try {
    const result = await decideApproval(
      {
        executionId,
        decision: verb,
        by: `cli:${name}`,
        ...(options.reason?.trim() && { reason: options.reason.trim() }),
      },
      {
        approvals: dynamoApprovalStore(table, dynamo),
        callbacks: sfnTaskCallbacks(deps.sfn(region)),
        clusters,
        clock: { now: () => deps.now() },
      },
    );
    io.stdout.write(
      options.json
        ? json(result)
        : `${result.decision} ${result.workflow} on ${result.cluster} as ${result.by} (approval ${result.approvalId})\n`,
    );
    return 0;
  } catch (error) {
    if (error instanceof ApprovalRefusedError) throw new CliError(error.message);
    throw error;
  }
}
