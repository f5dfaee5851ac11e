/**
 * `npm run sandbox -- slack`: ChatOps end to end on loopback. The sandbox (etcd, S3, DynamoDB,
 * the local fleet) runs the real state machines with the real handlers; the real Slack receiver
 * gets requests signed as Slack signs them; the official Slack client posts to the loopback
 * Slack stand-in; every answer and every Slack call is printed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { dynamoRequestLedger } from '../functions/shared/adapters/aws/dynamo-request-ledger';
import type { WorkflowStarter } from '../functions/shared/adapters/aws/sfn-workflow-starter';
import { slackFormApi } from '../functions/shared/adapters/slack/form-api';
import { slackWebApi } from '../functions/shared/adapters/slack/web-api';
import { signSlackRequest } from '../functions/shared/domain/slack-signature';
import type { ExecutionSummary } from '../functions/shared/ports';
import { channelsFrom, slackApprovalMessenger } from '../functions/shared/services/slack-chat';
import { isDeployedFor, WORKFLOWS } from '../functions/shared/workflows';
import type { Json, RunResult } from './asl-runner';
import { configDirectory } from './local-adapters';
import type { Io } from './main';
import type { Sandbox as SandboxType } from './sandbox';
import { startSlackStandIn, type SlackCall } from './slack-api';

const SECRET = 'sandbox-signing-secret-not-a-real-one';
const TOKEN = 'xoxb-sandbox-not-a-real-token';
const TEAM = 'T0SANDBOX';
const CHANNEL = 'C0SANDBOX';
const ALICE = 'U0ALICE';
const BOB = 'U0BOB';
/** the gate as APPROVAL-GATE.md gives it; a workflow with a gate (upgrade) replaces it once it lands */
const GATE = join(__dirname, '..', 'test', 'asl', 'fixtures', 'approval-gate.asl.json');
const fakeArn = (workflow: string) =>
  `arn:aws:states:eu-west-1:123456789012:stateMachine:caretaker-${workflow}`;

interface Request {
  headers: Record<string, string>;
  body: string;
  isBase64Encoded: boolean;
  requestContext: { http: { method: string } };
}

function signed(body: string, at = Math.floor(Date.now() / 1000), secret = SECRET, retry?: number): Request {
  return {
    headers: {
      'content-type': 'application/x-www-form-urlencoded',
      'x-slack-request-timestamp': String(at),
      'x-slack-signature': signSlackRequest(secret, at, body),
      ...(retry !== undefined && { 'x-slack-retry-num': String(retry) }),
    },
    body,
    isBase64Encoded: false,
    requestContext: { http: { method: 'POST' } },
  };
}

let triggers = 0;
const command = (text: string, user = ALICE, trigger = `${Date.now()}.${++triggers}.a${triggers}`) =>
  new URLSearchParams({
    team_id: TEAM,
    channel_id: CHANNEL,
    user_id: user,
    command: '/caretaker',
    text,
    trigger_id: trigger,
  }).toString();

const press = (approvalId: string, action: string, user: string) =>
  new URLSearchParams({
    payload: JSON.stringify({
      type: 'block_actions',
      team: { id: TEAM },
      user: { id: user },
      channel: { id: CHANNEL },
      actions: [{ action_id: action, value: approvalId }],
    }),
  }).toString();

/** one line per Slack call: what the channel would show */
function describeCall(c: SlackCall): string {
  const p = c.params;
  if (c.method === 'chat.postEphemeral') return `ephemeral to <@${String(p.user)}>: ${String(p.text)}`;
  const blocks =
    (p.blocks as
      | { type: string; text?: { text?: string }; elements?: { text?: unknown; action_id?: string }[] }[]
      | undefined) ?? [];
  const lines = blocks.flatMap((b) => {
    if (b.type === 'actions')
      return [`[${(b.elements ?? []).map((e) => (e.text as { text?: string })?.text).join('] [')}]`];
    if (b.text?.text) return [b.text.text];
    return (b.elements ?? []).map((e) => String(e.text ?? ''));
  });
  return `${c.method} ${String(p.channel)}${p.ts ? ` (ts ${String(p.ts)})` : ''}:\n      ${lines.join('\n      ')}`;
}

export async function runSlackSandbox(io: Io): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { Sandbox } = require('./sandbox') as typeof import('./sandbox');
  type Receiver = typeof import('../functions/slack-receiver/handler');
  // after offlineEnvironment(): the handler reads the environment when it loads
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { makeHandler } = require('../functions/slack-receiver/handler') as Receiver;
  const slack = await startSlackStandIn();
  const api = slackWebApi({ token: async () => TOKEN, apiUrl: slack.url, retries: 0 });
  // the receiver's own client, as its handler builds it (form-api.ts)
  const receiverApi = slackFormApi({ token: async () => TOKEN, apiUrl: slack.url, retries: 0 });
  let sandbox: SandboxType | undefined;
  try {
    io.err('sandbox slack: starting etcd ×3, s3rver, dynalite and the Slack stand-in…');
    const clusterConfig = {
      slack: {
        channel: CHANNEL,
        allow: { backup: [ALICE], status: [ALICE, BOB], history: [ALICE, BOB], approve: [ALICE, BOB] },
      },
      approval: { timeoutMinutes: 10 },
    };
    // the ClusterDirectory the chat ports read is the sandbox's own; it exists only after start
    const directory = { get: (name: string) => configDirectory(sandbox ? [sandbox.cluster] : []).get(name) };
    sandbox = await Sandbox.start({
      keys: 300,
      kubernetes: false,
      workers: 1,
      clusterConfig,
      ports: {
        chat: { slack: api, channelOf: channelsFrom(directory) },
        messenger: slackApprovalMessenger(api, channelsFrom(directory)),
      },
    });
    const sb = sandbox;
    const runs: Promise<RunResult>[] = [];
    const history: ExecutionSummary[] = [];
    const starter: WorkflowStarter = {
      async start(stateMachineArn, name, input) {
        const executionArn = `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
        if (history.some((h) => h.name === name)) return { executionArn, duplicate: true };
        const workflow = WORKFLOWS.find((w) => fakeArn(w.name) === stateMachineArn)!.name;
        const summary: ExecutionSummary = { name, executionArn, status: 'RUNNING', startDate: new Date() };
        history.unshift(summary);
        runs.push(
          sb.run(workflow, undefined, input as Record<string, Json>, name).then((r) => {
            summary.status = r.status;
            summary.stopDate = new Date();
            return r;
          }),
        );
        return { executionArn, duplicate: false };
      },
    };
    const receiver = makeHandler({
      secrets: { get: async () => ({ signingSecret: SECRET, botToken: TOKEN }) },
      clock: { now: () => new Date() },
      deployment: { teamId: TEAM, channels: [CHANNEL] },
      clusters: directory,
      clusterNames: [sb.cluster.name],
      slack: receiverApi,
      starter,
      // as the stack deploys them: a workflow the sandbox cluster does not enable is "not available yet"
      stateMachines: Object.fromEntries(
        WORKFLOWS.filter((w) => isDeployedFor(w, [sb.cluster])).map((w) => [w.name, fakeArn(w.name)]),
      ),
      ledger: dynamoRequestLedger(sb.endpoints().table, sb.dynamo.doc),
      history: {
        recent: async (_arn, prefix, limit) =>
          history.filter((h) => h.name.startsWith(prefix)).slice(0, limit),
      },
      approvals: sb.approvals,
      callbacks: sb.broker,
      messenger: slackApprovalMessenger(receiverApi, channelsFrom(directory)),
      log: (level, message, fields) => {
        if (level === 'warn') io.err(`    [log] ${message} ${JSON.stringify(fields)}`);
      },
    });
    const context = { awsRequestId: 'sandbox', functionName: 'caretaker-slack-receiver' } as never;
    const send = async (what: string, request: Request) => {
      io.out(`\n▶ ${what}`);
      const started = performance.now();
      const out = (await receiver(request, context)) as { statusCode: number; body?: string };
      const ms = performance.now() - started;
      let text = out.body ?? '';
      try {
        text = (JSON.parse(text) as { text?: string }).text ?? text;
      } catch {
        // not JSON: as it is
      }
      io.out(`  ← ${out.statusCode} in ${ms.toFixed(0)} ms${text ? `: ${text}` : ''}`);
      return out;
    };
    let seen = 0;
    const printSlack = () => {
      for (const c of slack.calls.slice(seen)) io.out(`  slack ${describeCall(c)}`);
      seen = slack.calls.length;
    };

    io.out(`── ChatOps in the sandbox: workspace ${TEAM}, channel ${CHANNEL}, cluster ${sb.cluster.name} ──`);
    const backup = command('backup sandbox');
    await send('alice: /caretaker backup sandbox', signed(backup));
    await send('Slack retries the same request (X-Slack-Retry-Num: 1)', signed(backup, undefined, SECRET, 1));
    await send(
      'mallory forges the same request with another secret',
      signed(backup, undefined, 'forged-secret'),
    );
    await send('someone replays it 6 minutes later', signed(backup, Math.floor(Date.now() / 1000) - 360));
    await send('bob: /caretaker backup sandbox (not allowed)', signed(command('backup sandbox', BOB)));
    await send(
      'alice: /caretaker upgrade sandbox 1.35 --dry-run',
      signed(command('upgrade sandbox 1.35 --dry-run')),
    );
    io.out(`\n… waiting for ${runs.length} execution(s) started from Slack`);
    const results = await Promise.all(runs);
    for (const r of results) io.out(`  ${r.executionName}: ${r.status} (${r.states.length} states)`);
    printSlack();
    await send('alice: /caretaker status sandbox', signed(command('status sandbox')));

    io.out('\n── an approval gate (APPROVAL-GATE.md) with its Slack buttons ──');
    const gate = sb.runDefinition(
      'approval-gate',
      readFileSync(GATE, 'utf8'),
      {
        requestedBy: `slack:${ALICE}`,
        plan: { summary: 'upgrade sandbox from 1.36.4 to 1.37.2, one control-plane node at a time' },
        approval: { timeoutSeconds: 600 },
      },
      {
        RequestApprovalFunctionArn:
          'arn:aws:lambda:eu-west-1:123456789012:function:caretaker-request-approval',
      },
      `upgrade-control-plane-sandbox-${new Date()
        .toISOString()
        .replace(/[-:]/g, '')
        .replace(/\.\d+Z$/, 'Z')}-slack`,
    );
    const posted = await waitFor(() =>
      slack
        .callsTo('chat.postMessage')
        .find((c) => JSON.stringify(c.params.blocks ?? '').includes('caretaker_approve')),
    );
    printSlack();
    const approvalId = /"value":"(apr-[A-Za-z0-9_-]+)"/.exec(JSON.stringify(posted.params.blocks))![1]!;
    await send(
      'alice presses Approve on her own request',
      signed(press(approvalId, 'caretaker_approve', ALICE)),
    );
    printSlack();
    await send('bob presses Approve', signed(press(approvalId, 'caretaker_approve', BOB)));
    const gated = await gate;
    printSlack();
    await send('bob presses Deny afterwards', signed(press(approvalId, 'caretaker_deny', BOB)));
    printSlack();
    io.out(`\n  gate: ${gated.status}, path: ${gated.states.join(' → ')}`);
    io.out(
      `  decision: ${JSON.stringify((gated.output as { approval?: { decision?: unknown } })?.approval?.decision)}`,
    );
    io.out(`\n── ${slack.calls.length} Slack API calls recorded by the stand-in ──`);
    for (const [method, n] of Object.entries(
      slack.calls.reduce<Record<string, number>>(
        (m, c) => ({ ...m, [c.method]: (m[c.method] ?? 0) + 1 }),
        {},
      ),
    )) {
      io.out(`  ${method.padEnd(24)} ${n}`);
    }
    const ok =
      results.every((r) => r.status === 'SUCCEEDED') && gated.states.includes('Go ahead with the plan');
    return ok ? 0 : 1;
  } finally {
    await sandbox?.stop();
    await slack.stop();
  }
}

async function waitFor<T>(find: () => T | undefined, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const found = find();
    if (found) return found;
    if (Date.now() > until) throw new Error('timed out waiting for the approval message');
    await new Promise((r) => setTimeout(r, 50));
  }
}
