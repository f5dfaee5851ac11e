/**
 * The Slack receiver with every port real or local: DynamoDB on dynalite (ledger, approvals),
 * the Slack Web API client against the loopback stand-in, a recording starter, the TaskBroker
 * as Step Functions' task tokens. One world per test file (start it in beforeAll).
 */
import type { WorkflowStarter } from '../../../functions/shared/adapters/aws/sfn-workflow-starter';
import { dynamoApprovalStore } from '../../../functions/shared/adapters/aws/dynamo-approval-store';
import { dynamoRequestLedger } from '../../../functions/shared/adapters/aws/dynamo-request-ledger';
import { slackFormApi } from '../../../functions/shared/adapters/slack/form-api';
import { parseConfig } from '../../../functions/shared/domain/config';
import type { ExecutionSummary } from '../../../functions/shared/ports';
import { channelsFrom, slackApprovalMessenger } from '../../../functions/shared/services/slack-chat';
import { makeHandler } from '../../../functions/slack-receiver/handler';
import type { SlackReceiverDeps } from '../../../functions/slack-receiver/service';
import { startDynalite, type LocalDynamo } from '../../../sandbox/dynalite';
import { configDirectory } from '../../../sandbox/local-adapters';
import { startSlackStandIn, type SlackStandIn } from '../../../sandbox/slack-api';
import { TaskBroker } from '../../../sandbox/task-broker';
import { lambdaContext } from '../../support/lambda-context';
import { BOT_TOKEN, CHANNEL, SIGNING_SECRET, TEAM, type FunctionUrlEvent } from '../../support/slack';

export const NOW_SECONDS = 1_764_500_000;
export const ARNS = {
  'etcd-backup': 'arn:aws:states:eu-west-1:123456789012:stateMachine:caretaker-etcd-backup',
  'restore-verify': 'arn:aws:states:eu-west-1:123456789012:stateMachine:caretaker-restore-verify',
};

export const CONFIG = parseConfig({
  slack: { teamId: TEAM, channels: [CHANNEL, 'C0OTHER'] },
  clusters: [
    {
      name: 'prod-eu',
      kind: 'kubeadm',
      region: 'eu-west-1',
      slack: {
        channel: 'C0PRODEU',
        allow: {
          backup: ['U0ALICE', 'S0SRE'],
          'restore-verify': ['U0ALICE'],
          status: ['U0ALICE'],
          history: ['U0ALICE'],
          approve: ['U0BOB', 'S0SRE'],
        },
      },
      restoreVerify: { launchTemplate: 'lt-0123456789abcdef0' },
    },
    { name: 'lab', kind: 'kubeadm', region: 'eu-west-1', slack: { allow: { '*': ['U0ALICE'] } } },
    { name: 'quiet', kind: 'kubeadm', region: 'eu-west-1' },
  ],
});

export interface Started {
  stateMachineArn: string;
  name: string;
  input: unknown;
}

export interface World {
  db: LocalDynamo;
  slack: SlackStandIn;
  broker: TaskBroker;
  started: Started[];
  logs: { level: string; message: string; fields: Record<string, unknown> }[];
  now: { seconds: number };
  history: ExecutionSummary[];
  deps: SlackReceiverDeps;
  send(event: FunctionUrlEvent): Promise<{ statusCode: number; body?: string; text?: string }>;
  stop(): Promise<void>;
}

let tables = 0;

export async function startWorld(): Promise<World> {
  const db = await startDynalite();
  const table = `operations-${++tables}`;
  await db.createTable(table);
  const slack = await startSlackStandIn();
  const broker = new TaskBroker();
  const started: Started[] = [];
  const logs: World['logs'] = [];
  const now = { seconds: NOW_SECONDS };
  const history: ExecutionSummary[] = [];
  const names = new Set<string>();
  const starter: WorkflowStarter = {
    async start(stateMachineArn, name, input) {
      const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
      if (names.has(name)) return { executionArn, duplicate: true };
      names.add(name);
      started.push({ stateMachineArn, name, input });
      return { executionArn, duplicate: false };
    },
  };
  const clusters = configDirectory(CONFIG.clusters);
  // what the receiver's handler builds
  const api = slackFormApi({ token: async () => BOT_TOKEN, apiUrl: slack.url, retries: 0 });
  const deps: SlackReceiverDeps = {
    secrets: { get: async () => ({ signingSecret: SIGNING_SECRET, botToken: BOT_TOKEN }) },
    clock: { now: () => new Date(now.seconds * 1000) },
    deployment: CONFIG.slack!,
    clusters,
    clusterNames: CONFIG.clusters.map((c) => c.name),
    slack: api,
    starter,
    stateMachines: { ...ARNS },
    ledger: dynamoRequestLedger(table, db.doc),
    history: {
      recent: async (arn, prefix, limit) =>
        history
          .filter(
            (h) =>
              h.executionArn.startsWith(arn.replace(':stateMachine:', ':execution:')) &&
              h.name.startsWith(prefix),
          )
          .slice(0, limit),
    },
    approvals: dynamoApprovalStore(table, db.doc),
    callbacks: broker,
    messenger: slackApprovalMessenger(api, channelsFrom(clusters)),
    log: (level, message, fields) => logs.push({ level, message, fields }),
  };
  const handler = makeHandler(deps);
  return {
    db,
    slack,
    broker,
    started,
    logs,
    now,
    history,
    deps,
    async send(event) {
      const out = (await handler(event, lambdaContext('caretaker-slack-receiver'))) as {
        statusCode: number;
        body?: string;
      };
      let text: string | undefined;
      try {
        text = (JSON.parse(out.body ?? '') as { text?: string }).text;
      } catch {
        text = undefined;
      }
      return { ...out, ...(text !== undefined && { text }) };
    },
    async stop() {
      broker.abandon('the test ended');
      await slack.stop();
      await db.stop();
    },
  };
}
