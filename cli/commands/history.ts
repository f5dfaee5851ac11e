import type { ExecutionListItem } from '@aws-sdk/client-sfn';
import { findCluster, loadConfig } from '../config';
import type { CliDeps, Io } from '../context';
import { duration, isoSeconds, json, table } from '../format';
import { listClusterExecutions, StackLookup } from '../stack';
import type { WorkflowInfo } from '../workflows';

export interface HistoryOptions {
  cluster: string;
  limit: number;
  json: boolean;
  region?: string;
  stateMachineArn?: string;
  config?: string;
}

export interface ExecutionRow {
  name: string;
  executionArn: string;
  status: string;
  startDate: string | null;
  stopDate: string | null;
  durationSeconds: number | null;
}

export function executionRow(e: ExecutionListItem): ExecutionRow {
  const ms = e.startDate && e.stopDate ? e.stopDate.getTime() - e.startDate.getTime() : undefined;
  return {
    name: e.name ?? '',
    executionArn: e.executionArn ?? '',
    status: e.status ?? 'UNKNOWN',
    startDate: e.startDate ? isoSeconds(e.startDate) : null,
    stopDate: e.stopDate ? isoSeconds(e.stopDate) : null,
    durationSeconds: ms === undefined ? null : Math.round(ms / 1000),
  };
}

/** the executions as a table; a running one shows how long it has run so far */
export function executionTable(executions: ExecutionListItem[], now: Date): string {
  const rows = executions.map((e) => {
    const end = e.stopDate ?? (e.status === 'RUNNING' ? now : undefined);
    const took = e.startDate && end ? duration(end.getTime() - e.startDate.getTime()) : '-';
    return [
      e.status ?? '?',
      isoSeconds(e.startDate),
      e.status === 'RUNNING' ? `${took}…` : took,
      e.name ?? '',
    ];
  });
  return table(['STATUS', 'STARTED', 'DURATION', 'NAME'], rows);
}

/**
 * `caretaker history <cluster>`: the cluster's executions of a workflow, newest first.
 * @throws CliError for a cluster not in the configuration or a workflow not deployed
 */
export async function history(
  io: Io,
  deps: CliDeps,
  workflow: WorkflowInfo,
  options: HistoryOptions,
): Promise<number> {
  const { file, config } = loadConfig(io, deps, options.config);
  const cluster = findCluster(config, file, options.cluster);
  const region = options.region ?? cluster.region;
  const arn = await new StackLookup(region, io, deps).stateMachineArn(workflow, options.stateMachineArn);
  const executions = await listClusterExecutions(deps, arn, region, workflow, cluster.name, options.limit);
  if (options.json) {
    io.stdout.write(
      json({
        cluster: cluster.name,
        workflow: workflow.workflow,
        stateMachineArn: arn,
        executions: executions.map(executionRow),
      }),
    );
  } else if (executions.length === 0) {
    io.stdout.write(`no ${workflow.workflow} executions for ${cluster.name} in ${region}\n`);
  } else {
    io.stdout.write(executionTable(executions, deps.now()));
  }
  return 0;
}
