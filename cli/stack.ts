import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { ListExecutionsCommand, type ExecutionListItem } from '@aws-sdk/client-sfn';
import { CliError, type CliDeps, type Io } from './context';
import { arnEnvVar, isClusterExecution, stackName, type WorkflowInfo } from './workflows';

/** how one `Caretaker-<region>` stack is found: flags and environment first, outputs last */
export class StackLookup {
  private outputs?: Promise<Record<string, string>>;

  constructor(
    readonly region: string,
    private readonly io: Io,
    private readonly deps: CliDeps,
  ) {}

  get stack(): string {
    return stackName(this.region);
  }

  /**
   * The workflow's state machine: --state-machine-arn, else CARETAKER_<WORKFLOW>_ARN, else the
   * stack output.
   * @throws CliError when the stack does not exist or does not deploy that workflow
   */
  async stateMachineArn(workflow: WorkflowInfo, flag: string | undefined): Promise<string> {
    const arn = flag ?? this.io.env[arnEnvVar(workflow)];
    if (arn) return arn;
    const value = (await this.readOutputs())[workflow.output];
    if (!value) throw new CliError(`the ${workflow.workflow} workflow is not deployed in ${this.stack}`);
    return value;
  }

  /**
   * The snapshot bucket: --bucket, else CARETAKER_SNAPSHOT_BUCKET, else the stack output.
   * @throws CliError when the stack does not exist or has no SnapshotBucketName output
   */
  async snapshotBucket(flag: string | undefined): Promise<string> {
    const bucket = flag ?? this.io.env.CARETAKER_SNAPSHOT_BUCKET;
    if (bucket) return bucket;
    const value = (await this.readOutputs()).SnapshotBucketName;
    if (!value) throw new CliError(`${this.stack} has no SnapshotBucketName output`);
    return value;
  }

  /**
   * The operations table (approval gates live there): the stack's OperationsTableName output.
   * @throws CliError when the stack does not exist or has no such output
   */
  async operationsTable(): Promise<string> {
    const value = (await this.readOutputs()).OperationsTableName;
    if (!value) throw new CliError(`${this.stack} has no OperationsTableName output`);
    return value;
  }

  /** one DescribeStacks per command, however many outputs it needs */
  private readOutputs(): Promise<Record<string, string>> {
    this.outputs ??= this.describe();
    return this.outputs;
  }

  private async describe(): Promise<Record<string, string>> {
    try {
      const out = await this.deps
        .cloudFormation(this.region)
        .send(new DescribeStacksCommand({ StackName: this.stack }));
      const outputs: Record<string, string> = {};
      for (const o of out.Stacks?.[0]?.Outputs ?? []) {
        if (o.OutputKey && o.OutputValue) outputs[o.OutputKey] = o.OutputValue;
      }
      return outputs;
    } catch (error) {
      // CloudFormation answers a missing stack with a ValidationError "... does not exist"
      if ((error as Error).name === 'ValidationError' && /does not exist/.test((error as Error).message)) {
        throw new CliError(
          `${this.stack} does not exist: Caretaker is not deployed in ${this.region} (deploy it with npx cdk deploy, or pass --region)`,
        );
      }
      throw error;
    }
  }
}

/** the region of a Step Functions ARN, so a client for it talks to the right endpoint */
export function arnRegion(arn: string): string | undefined {
  return /^arn:[\w-]+:states:([a-z0-9-]+):/.exec(arn)?.[1];
}

// a state machine shared by many clusters: read at most this many pages looking for one's runs
const MAX_PAGES = 20;

/**
 * The cluster's executions of a workflow, newest first (ListExecutions' own order).
 * ListExecutions cannot filter by name, so this pages until it has `limit`.
 */
export async function listClusterExecutions(
  deps: CliDeps,
  stateMachineArn: string,
  region: string,
  workflow: WorkflowInfo,
  cluster: string,
  limit: number,
): Promise<ExecutionListItem[]> {
  const sfn = deps.sfn(arnRegion(stateMachineArn) ?? region);
  const found: ExecutionListItem[] = [];
  let nextToken: string | undefined;
  for (let page = 0; page < MAX_PAGES; page++) {
    const out = await sfn.send(new ListExecutionsCommand({ stateMachineArn, maxResults: 100, nextToken }));
    for (const e of out.executions ?? []) {
      if (e.name && isClusterExecution(e.name, workflow, cluster)) found.push(e);
      if (found.length >= limit) return found;
    }
    nextToken = out.nextToken;
    if (!nextToken) break;
  }
  return found;
}
