import type { WorkflowStarter } from '../shared/adapters/aws/sfn-workflow-starter';
import { ApprovalRefusedError, type ApprovalSettings } from '../shared/domain/approvals';
import {
  authorizeVerb,
  authorizeWorkspace,
  groupsToCheck,
  type SlackCaller,
  type SlackClusterSettings,
  type SlackDeployment,
} from '../shared/domain/slack';
import { APPROVE_ACTION, DENY_ACTION } from '../shared/domain/slack-messages';
import { verifySlackRequest, header, type SignedRequest } from '../shared/domain/slack-signature';
import { ClusterNotFoundError, InvalidInputError } from '../shared/errors';
import type {
  ApprovalMessenger,
  ApprovalStore,
  Clock,
  ClusterDirectory,
  ExecutionHistory,
  RequestLedger,
  SlackApi,
  SlackSecrets,
  TaskCallbacks,
} from '../shared/ports';
import { decideApproval } from '../shared/services/approvals';
import { startWorkflow } from '../start-workflow/service';
import { WORKFLOWS } from '../shared/workflows';
import * as z from '../shared/zod';
import { parseSlackCommand, usageLine } from './commands';

export interface SlackReceiverDeps {
  secrets: SlackSecrets;
  clock: Clock;
  deployment: SlackDeployment;
  clusters: ClusterDirectory;
  /** the clusters of this deployment, for `status` / `history` without a cluster */
  clusterNames: readonly string[];
  slack: SlackApi;
  starter: WorkflowStarter;
  /** workflow name → state machine ARN */
  stateMachines: Record<string, string>;
  ledger: RequestLedger;
  history: ExecutionHistory;
  approvals: ApprovalStore;
  callbacks: TaskCallbacks;
  messenger?: ApprovalMessenger;
  /** structured log lines: the audit trail and rejections (never a body, never a secret) */
  log: (level: 'info' | 'warn', message: string, fields: Record<string, unknown>) => void;
}

export interface HttpResponse {
  statusCode: number;
  headers?: Record<string, string>;
  body?: string;
}

/** how long a Slack request id is remembered: Slack retries within minutes */
const LEDGER_SECONDS = 3600;

const slackId = z.string().regex(/^[A-Z0-9]{2,24}$/);
/** Slack's trigger ids: digits.digits.hex */
const triggerId = z.string().regex(/^[0-9]{1,20}\.[0-9]{1,20}\.[0-9a-f]{1,40}$/);

/** the fields of a slash command Caretaker reads (application/x-www-form-urlencoded) */
const slashCommand = z.object({
  team_id: slackId,
  channel_id: slackId,
  user_id: slackId,
  command: z.string().max(64),
  text: z.string().max(4000),
  trigger_id: triggerId,
});

/** a block_actions payload (the Approve / Deny buttons) */
const blockActions = z.object({
  type: z.literal('block_actions'),
  team: z.object({ id: slackId }),
  user: z.object({ id: slackId }),
  channel: z.object({ id: slackId }).optional(),
  actions: z
    .array(
      z.object({
        action_id: z.string().max(255),
        value: z.string().regex(/^apr-[A-Za-z0-9_-]{10,64}$/, 'must be an approval id'),
      }),
    )
    .min(1)
    .max(1),
});

const ephemeral = (text: string): HttpResponse => ({
  statusCode: 200,
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ response_type: 'ephemeral', text }),
});

const UNAUTHORIZED: HttpResponse = { statusCode: 401, body: 'unauthorized' };

/**
 * One Slack request, verified before anything else (v0 signature over the raw body, 5-minute
 * window): a rejection is logged without the body and answered 401, and nothing is started.
 * Then the workspace and channel, then the verb on the cluster, then the action: a workflow
 * start under a name derived from the request (a Slack retry starts nothing twice), a status
 * or history answer, or an approval decision. Always answers within Slack's 3 seconds with an
 * ephemeral message; never throws for bad input.
 */
export async function handleSlackRequest(
  request: SignedRequest,
  deps: SlackReceiverDeps,
): Promise<HttpResponse> {
  const retry = header(request.headers, 'x-slack-retry-num');
  const { signingSecret } = await deps.secrets.get();
  const verified = verifySlackRequest(request, signingSecret, deps.clock.now());
  if (!verified.ok) {
    deps.log('warn', 'slack request rejected', { reason: verified.reason, retry: retry ?? null });
    return UNAUTHORIZED;
  }
  const form = new URLSearchParams(verified.rawBody);
  const payload = form.get('payload');
  if (payload !== null) return handleInteraction(payload, retry, deps);
  return handleCommand(Object.fromEntries(form), retry, deps);
}

async function handleCommand(
  form: Record<string, string>,
  retry: string | undefined,
  deps: SlackReceiverDeps,
): Promise<HttpResponse> {
  const parsed = slashCommand.safeParse(form);
  if (!parsed.success) {
    deps.log('warn', 'slack command malformed', { fields: parsed.error.issues.map((i) => i.path.join('.')) });
    return ephemeral(`That request is missing something Caretaker needs.\n${usageLine()}`);
  }
  const c = parsed.data;
  const caller: SlackCaller = { teamId: c.team_id, channelId: c.channel_id, userId: c.user_id };
  const audit = {
    user: c.user_id,
    team: c.team_id,
    channel: c.channel_id,
    trigger: c.trigger_id,
    retry: retry ?? null,
  };
  const workspace = authorizeWorkspace(caller, deps.deployment);
  if (!workspace.allowed) {
    deps.log('info', 'slack command denied', { ...audit, reason: workspace.message });
    return ephemeral(workspace.message);
  }
  const command = parseSlackCommand(c.text);
  switch (command.kind) {
    case 'help':
      return ephemeral(`${usageLine()}\nApprove or deny with the buttons on the approval message.`);
    case 'usage':
      return ephemeral(`${command.message}\n${usageLine()}`);
    case 'not-available':
      return ephemeral(`\`${command.verb}\` is not available yet in this Caretaker.\n${usageLine()}`);
    case 'read':
      return answerRead(command.verb, command.cluster, caller, deps);
    case 'start':
      break;
  }
  const cluster = await findCluster(command.cluster, deps);
  if (!cluster)
    return ephemeral(
      `There is no cluster "${command.cluster}" here (have: ${deps.clusterNames.join(', ')}).`,
    );
  // availability first: it says nothing about the cluster or the caller
  if (!Object.hasOwn(deps.stateMachines, command.workflow.name)) {
    return ephemeral(`\`${command.verb}\` is not available yet in this Caretaker (not deployed here).`);
  }
  const allowed = await authorize(caller.userId, command.verb, cluster.name, cluster.slack, deps);
  deps.log('info', 'slack command', {
    ...audit,
    verb: command.verb,
    cluster: cluster.name,
    allowed: allowed.allowed,
  });
  if (!allowed.allowed) return ephemeral(allowed.message);
  // the first delivery's time names the execution; a retry of the same trigger finds it
  const firstSeen = await deps.ledger.remember(
    `slack#${c.trigger_id}`,
    deps.clock.now().toISOString(),
    new Date(deps.clock.now().getTime() + LEDGER_SECONDS * 1000),
  );
  try {
    const started = await startWorkflow(
      {
        cluster: cluster.name,
        workflow: command.workflow.name,
        scheduledTime: firstSeen,
        requestedBy: `slack:${c.user_id}`,
        requestId: c.trigger_id,
        input: command.input,
      },
      { clusters: deps.clusters, starter: deps.starter, stateMachines: deps.stateMachines },
    );
    deps.log('info', 'slack started', {
      ...audit,
      verb: command.verb,
      cluster: cluster.name,
      execution: started.name,
      duplicate: started.duplicate,
    });
    return ephemeral(
      started.duplicate
        ? `Already started: \`${started.name}\` (this request came again).`
        : `Started ${command.workflow.name} on ${cluster.name}: \`${started.name}\`. The outcome will be posted${cluster.slack?.channel ? ` in <#${cluster.slack.channel}>` : ''}.`,
    );
  } catch (e) {
    if (e instanceof InvalidInputError) return ephemeral(`${e.message}\n${usageLine()}`);
    throw e;
  }
}

async function findCluster(name: string, deps: SlackReceiverDeps) {
  if (!deps.clusterNames.includes(name)) return undefined;
  try {
    return await deps.clusters.get(name);
  } catch (e) {
    if (e instanceof ClusterNotFoundError) return undefined;
    throw e;
  }
}

/** the user's memberships among the groups a permission list names; a failed lookup counts as none */
async function groupsOf(
  userId: string,
  candidates: readonly string[],
  deps: SlackReceiverDeps,
): Promise<string[]> {
  const member: string[] = [];
  for (const group of new Set(candidates)) {
    try {
      if ((await deps.slack.groupMembers(group)).includes(userId)) member.push(group);
    } catch (e) {
      deps.log('warn', 'slack group lookup failed', { group, error: (e as Error).name });
    }
  }
  return member;
}

async function authorize(
  userId: string,
  verb: string,
  clusterName: string,
  settings: SlackClusterSettings | undefined,
  deps: SlackReceiverDeps,
) {
  const direct = authorizeVerb(userId, [], verb, clusterName, settings);
  if (direct.allowed) return direct;
  const groups = await groupsOf(userId, groupsToCheck(settings, verb), deps);
  return authorizeVerb(userId, groups, verb, clusterName, settings);
}

async function answerRead(
  verb: 'status' | 'history',
  clusterName: string | undefined,
  caller: SlackCaller,
  deps: SlackReceiverDeps,
): Promise<HttpResponse> {
  const names = clusterName ? [clusterName] : [...deps.clusterNames];
  const lines: string[] = [];
  for (const name of names) {
    const cluster = await findCluster(name, deps);
    if (!cluster)
      return ephemeral(`There is no cluster "${name}" here (have: ${deps.clusterNames.join(', ')}).`);
    const allowed = await authorize(caller.userId, verb, name, cluster.slack, deps);
    if (!allowed.allowed) {
      if (clusterName) return ephemeral(allowed.message);
      continue;
    }
    const runs = [];
    for (const w of WORKFLOWS) {
      const arn = Object.hasOwn(deps.stateMachines, w.name) ? deps.stateMachines[w.name] : undefined;
      if (!arn) continue;
      const recent = await deps.history.recent(arn, `${w.name}-${name}-`, verb === 'status' ? 1 : 10);
      runs.push(...recent.map((r) => ({ ...r, workflow: w.name })));
    }
    runs.sort((a, b) => b.startDate.getTime() - a.startDate.getTime());
    lines.push(`*${name}*`);
    if (runs.length === 0) lines.push('  no executions yet');
    for (const r of verb === 'history' ? runs.slice(0, 10) : runs) {
      lines.push(`  ${r.workflow}: ${r.status} · started ${r.startDate.toISOString()} · \`${r.name}\``);
    }
  }
  if (lines.length === 0) return ephemeral(`you may not ${verb} on any cluster here.`);
  return ephemeral(lines.join('\n'));
}

async function handleInteraction(
  raw: string,
  retry: string | undefined,
  deps: SlackReceiverDeps,
): Promise<HttpResponse> {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    deps.log('warn', 'slack interaction malformed', { fields: ['payload'] });
    return { statusCode: 200 };
  }
  const parsed = blockActions.safeParse(json);
  if (!parsed.success) {
    deps.log('warn', 'slack interaction malformed', {
      fields: parsed.error.issues.map((i) => i.path.join('.')),
    });
    return { statusCode: 200 };
  }
  const p = parsed.data;
  const action = p.actions[0]!;
  if (action.action_id !== APPROVE_ACTION && action.action_id !== DENY_ACTION) return { statusCode: 200 };
  const decision = action.action_id === APPROVE_ACTION ? 'approve' : 'deny';
  const by = `slack:${p.user.id}`;
  const audit = { user: p.user.id, team: p.team.id, approvalId: action.value, decision };
  const tell = async (text: string) => {
    if (!p.channel) return;
    await deps.slack.postEphemeral({ channel: p.channel.id, user: p.user.id, text }).catch((e: unknown) => {
      deps.log('warn', 'slack ephemeral failed', { ...audit, error: (e as Error).name });
    });
  };
  if (p.team.id !== deps.deployment.teamId) {
    deps.log('info', 'slack approval denied', { ...audit, reason: 'another workspace' });
    // not our workspace: our token cannot post there, so the answer is the response itself
    return ephemeral(
      `you may not decide Caretaker approvals from this workspace (${p.team.id}); nothing was changed`,
    );
  }
  const record = await deps.approvals.get(action.value);
  if (!record) {
    await tell(`That approval is not known (any more); nothing was changed.`);
    deps.log('info', 'slack approval refused', { ...audit, reason: 'unknown' });
    return { statusCode: 200 };
  }
  const cluster = await findCluster(record.cluster, deps);
  const settings: ApprovalSettings | undefined = cluster?.approval;
  const ownDenial = decision === 'deny' && record.requestedBy === by;
  const allowed = ownDenial
    ? ({ allowed: true } as const)
    : await authorize(p.user.id, 'approve', record.cluster, cluster?.slack, deps);
  if (!allowed.allowed) {
    deps.log('info', 'slack approval denied', { ...audit, reason: allowed.message });
    await tell(allowed.message.replace(/^you may not approve/, `you may not ${decision}`));
    return { statusCode: 200 };
  }
  const approverGroups = (settings?.approvers ?? []).filter((id) => id.startsWith('S'));
  const groups = await groupsOf(p.user.id, approverGroups, deps);
  try {
    const result = await decideApproval(
      { approvalId: record.approvalId, decision, by, groups },
      {
        approvals: deps.approvals,
        callbacks: deps.callbacks,
        clusters: deps.clusters,
        clock: deps.clock,
        messenger: deps.messenger,
        audit: (entry) => deps.log('info', 'approval', entry),
      },
    );
    deps.log('info', 'slack approval decided', {
      ...audit,
      workflow: result.workflow,
      cluster: result.cluster,
    });
  } catch (e) {
    if (!(e instanceof ApprovalRefusedError)) throw e;
    deps.log('info', 'slack approval refused', { ...audit, reason: e.refusal, retry: retry ?? null });
    // Slack delivering this press again: the first delivery decided it; say nothing twice
    const again =
      retry !== undefined &&
      e.refusal === 'already-decided' &&
      (await deps.approvals.get(record.approvalId))?.decidedBy === by;
    if (!again) await tell(e.message);
  }
  return { statusCode: 200 };
}
