import { WORKFLOWS, arnEnvVar, type WorkflowInfo } from './workflows';

const CLUSTER_FLAGS = `  --region R               the Caretaker-<region> stack to use (default: the cluster's region)
  --config FILE            the configuration (default: $CARETAKER_CONFIG, ./caretaker.config.json)`;

export const MAIN_HELP = `Usage: caretaker <command> [options]

Day-2 operations for self-managed Kubernetes clusters on AWS.

Commands:
  config check [file]        check the configuration and show each cluster resolved
${WORKFLOWS.map((w) => `  ${`${w.command} <cluster>`.padEnd(27)}${w.summary}`).join('\n')}
  status <cluster>           the last backups and the newest snapshot
  history <cluster>          the cluster's executions, newest first
  approve <execution>        approve the execution's pending approval gate
  deny <execution> --reason  deny it: the workflow stops without changing anything
  sandbox [...]              run the local sandbox

Run 'caretaker <command> --help' for a command's options.
Uses the AWS credentials of the environment (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...).
`;

export const CONFIG_HELP = `Usage: caretaker config check [file]

Parses the configuration exactly as 'cdk synth' does and prints each cluster with its defaults
filled in: kind, region, backup schedule, retention, etcd access.

  file                     the file to check (default: $CARETAKER_CONFIG, else
                           ./caretaker.config.json, else ./caretaker.config.example.json)

Exit status: 0 valid, 1 invalid (one line per problem, naming the cluster and field).
`;

export function workflowHelp(w: WorkflowInfo): string {
  const own = Object.entries(w.options).map(([flag, o]) => ({
    usage: `--${flag}${o.type === 'string' ? ` ${o.value ?? 'VALUE'}` : ''}`,
    description: o.description,
  }));
  return `Usage: caretaker ${w.command} <cluster> ${own.map((o) => `[${o.usage}] `).join('')}[--follow] [--region R] [--state-machine-arn ARN] [--json]

${w.summary[0]!.toUpperCase()}${w.summary.slice(1)}.
Starts the ${w.workflow} workflow with {"cluster": "<cluster>", "requestedBy": "cli"${own.length ? ', …' : ''}}, named
${w.workflow}-<cluster>-<yyyymmddThhmmssZ>-cli.

${own
  .map(
    (o) => `  ${o.usage.padEnd(25)}${o.description}
`,
  )
  .join('')}  --follow                 print each state as it runs, until the execution ends
  --state-machine-arn ARN  the state machine to start (default: $${arnEnvVar(w)}, else the
                           ${w.output} output of the Caretaker-<region> stack)
  --json                   print the started execution as JSON (not with --follow)
${CLUSTER_FLAGS}

Exit status: 0 started (with --follow: succeeded), 1 failed, timed out, aborted or not started,
2 usage error.
`;
}

export const STATUS_HELP = `Usage: caretaker status <cluster> [--region R] [--json]

The cluster's last 5 backup executions and its newest snapshot: size, age and whether a
restore of it has been verified (the caretaker:verified tag).

  --state-machine-arn ARN  the etcd-backup state machine (default: $CARETAKER_ETCD_BACKUP_ARN,
                           else the stack output EtcdBackupStateMachineArn)
  --bucket NAME            the snapshot bucket (default: $CARETAKER_SNAPSHOT_BUCKET, else the
                           stack output SnapshotBucketName)
  --json                   print JSON
${CLUSTER_FLAGS}
`;

export const HISTORY_HELP = `Usage: caretaker history <cluster> [--limit N] [--workflow W] [--region R] [--json]

The cluster's executions, newest first, with status, start and duration.

  --limit N                how many (default 20, at most 1000)
  --workflow W             ${WORKFLOWS.map((w) => w.command).join(', ')} (default backup)
  --state-machine-arn ARN  the workflow's state machine (default: $CARETAKER_<WORKFLOW>_ARN,
                           else the Caretaker-<region> stack output)
  --json                   print JSON
${CLUSTER_FLAGS}
`;

export const APPROVE_HELP = `Usage: caretaker approve <execution> [--reason R] [--as NAME]
       caretaker deny <execution> --reason R [--as NAME]

Decides the pending approval gate of an execution (its ARN, or its name such as
upgrade-control-plane-prod-eu-20261130T130000Z-cli). The cluster's approval rules apply: a
second decision, an expired gate, the requester approving their own run (unless
approval.allowSelfApproval) or someone not in approval.approvers is refused, and nothing changes.

  --reason R               why (required to deny; the requester reads it)
  --as NAME                who decides, recorded as cli:NAME (default: $CARETAKER_USER, else $USER);
                           IAM decides who may run this at all (the table and states:SendTask*)
  --table T                the operations table (default: $CARETAKER_TABLE, else the stack output)
  --json                   print the decision as JSON
${CLUSTER_FLAGS}

Exit status: 0 decided, 1 refused or failed (the reason is on stderr), 2 usage error.
`;
