/**
 * ChatOps rules, the pure part: the Slack blocks of caretaker.config.json, who may run which
 * verb on which cluster, and which verbs exist. No AWS or Slack client imports.
 */
import * as z from '../zod';
import { WORKFLOWS } from '../workflows';

export const slackUserOrGroup = z
  .string()
  .regex(/^[UWS][A-Z0-9]{2,20}$/, 'must be a Slack user id (U…, W…) or user group id (S…)');
export const slackChannel = z.string().regex(/^[CGD][A-Z0-9]{2,20}$/, 'must be a Slack channel id (C…, G…)');
export const slackTeam = z.string().regex(/^T[A-Z0-9]{2,20}$/, 'must be a Slack workspace (team) id (T…)');

/** verbs that read only; every other verb starts or decides something */
export const READ_VERBS = ['status', 'history'] as const;
/** verbs of workflows that are planned but may not be in the registry yet */
export const PLANNED_VERBS = ['patch', 'upgrade'] as const;

/** every verb a permission may name: the read verbs, approve, and every workflow verb (registry or planned) */
export function permissionVerbs(): string[] {
  const workflowVerbs = WORKFLOWS.flatMap((w) => (w.cli ? [w.cli.verb] : []));
  return [...new Set([...READ_VERBS, 'approve', ...workflowVerbs, ...PLANNED_VERBS])];
}

/** the deployment's `slack` block: the one workspace, and the channels commands are taken from */
export const slackDeploymentBlock = z
  .object({
    teamId: slackTeam,
    /** commands are taken only in these channels (absent: any channel of the workspace) */
    channels: z.array(slackChannel).optional(),
  })
  .strict();

/** a cluster's `slack` block: where its messages go, and who may run which verb on it */
export const slackClusterBlock = z
  .object({
    /** outcomes and approval requests are posted here */
    channel: slackChannel.optional(),
    /** verb (or "*") → Slack user ids and user group ids; a verb not listed is denied to everyone */
    allow: z
      .record(z.string(), z.array(slackUserOrGroup))
      .superRefine((allow, ctx) => {
        const known = new Set([...permissionVerbs(), '*']);
        for (const verb of Object.keys(allow)) {
          if (!known.has(verb)) {
            ctx.addIssue({
              code: 'custom',
              path: [verb],
              message: `is not a verb (have: ${[...known].join(', ')})`,
            });
          }
        }
      })
      .optional(),
  })
  .strict();

export interface SlackDeployment {
  teamId: string;
  /** empty: any channel */
  channels: string[];
}

export interface SlackClusterSettings {
  channel?: string;
  allow: Record<string, string[]>;
}

export function resolveSlackCluster(
  block: z.output<typeof slackClusterBlock> | undefined,
): SlackClusterSettings | undefined {
  if (!block) return undefined;
  return { ...(block.channel && { channel: block.channel }), allow: { ...block.allow } };
}

/** who is asking, as Slack says it (already verified by signature) */
export interface SlackCaller {
  teamId: string;
  channelId: string;
  userId: string;
}

export type Authorization = { allowed: true } | { allowed: false; message: string };

/**
 * May the caller use Caretaker here at all? The workspace must be the configured one and the
 * channel one of the configured channels (when there is a list).
 */
export function authorizeWorkspace(caller: SlackCaller, deployment: SlackDeployment): Authorization {
  if (caller.teamId !== deployment.teamId) {
    return {
      allowed: false,
      message: `you may not use Caretaker from this workspace (${caller.teamId}): it answers workspace ${deployment.teamId} only`,
    };
  }
  if (deployment.channels.length > 0 && !deployment.channels.includes(caller.channelId)) {
    return {
      allowed: false,
      message: `you may not use Caretaker in this channel: it takes commands in ${deployment.channels.map((c) => `<#${c}>`).join(', ')}`,
    };
  }
  return { allowed: true };
}

/** the user ids and group ids allowed `verb` on the cluster (its own list and "*") */
export function allowedFor(cluster: SlackClusterSettings | undefined, verb: string): string[] {
  const allow = cluster?.allow ?? {};
  return [
    ...(Object.hasOwn(allow, verb) ? allow[verb]! : []),
    ...(Object.hasOwn(allow, '*') ? allow['*']! : []),
  ];
}

/** the group ids among the entries allowed `verb`: the only memberships worth asking Slack about */
export function groupsToCheck(cluster: SlackClusterSettings | undefined, verb: string): string[] {
  return [...new Set(allowedFor(cluster, verb).filter((id) => id.startsWith('S')))];
}

/**
 * May the user run `verb` on the cluster? Allowed when the cluster's `slack.allow[verb]` (or
 * `slack.allow["*"]`) lists the user or one of `groups` (the user's groups among those listed).
 * Everything else is denied, with a message naming the verb, the cluster and what is missing.
 */
export function authorizeVerb(
  userId: string,
  groups: readonly string[],
  verb: string,
  clusterName: string,
  cluster: SlackClusterSettings | undefined,
): Authorization {
  const allowed = allowedFor(cluster, verb);
  if (allowed.includes(userId) || groups.some((g) => allowed.includes(g))) return { allowed: true };
  return {
    allowed: false,
    message:
      allowed.length === 0
        ? `you may not ${verb} on ${clusterName}: nobody may (slack.allow.${verb} of ${clusterName} is not set)`
        : `you may not ${verb} on ${clusterName}: <@${userId}> is not in slack.allow.${verb} (or "*") of ${clusterName}, nor in a user group listed there`,
  };
}
