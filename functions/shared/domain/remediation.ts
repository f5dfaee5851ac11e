/**
 * Alarm remediation, the pure part: which runbook an alarm names, for which cluster and which
 * member or node, and the safety rules every runbook obeys (cooldown, attempts per day, quorum,
 * the unhealthy share, one member at a time). No AWS imports; the services apply these.
 */
import type { AlarmEvent } from './alarm-event';
import type { LockScope } from './locks';

export const ROUTES = [
  'etcd-db-size',
  'etcd-member-unhealthy',
  'node-notready',
  'stale-backup',
  'disk-pressure',
] as const;
export type RouteName = (typeof ROUTES)[number];

export function isRoute(name: string): name is RouteName {
  return (ROUTES as readonly string[]).includes(name);
}

export interface RouteSettings {
  enabled: boolean;
  dryRun: boolean;
  /** no second attempt on the same alarm and resource within this many minutes */
  cooldownMinutes: number;
  /** attempts per alarm and resource per UTC day; past it the route escalates */
  maxAttemptsPerDay: number;
}

export interface AlarmMatcher {
  /** the alarm's name starts with this */
  namePrefix?: string;
  /** the alarm carries this tag (needs CloudWatch alarm tag propagation) */
  tag?: { key: string; value: string };
  route: RouteName;
}

export interface RemediationSettings {
  enabled: boolean;
  routes: Record<RouteName, RouteSettings>;
  /** alarms of the cluster's own (not Caretaker's) that a route acts on */
  alarms: AlarmMatcher[];
  /** node-notready: never more than this many nodes rebooted or replaced at once */
  maxNodesAtOnce: number;
  /** node-notready: no action at all when more than this percent of the nodes is NotReady */
  maxUnhealthyPercent: number;
  /** node-notready: how long a node stays NotReady after its reboot before it is drained and replaced */
  readyTimeoutMinutes: number;
  /**
   * node-notready: how long the drain of a node that stayed NotReady waits (the pods of a dead
   * node never finish terminating; waiting patching's whole drain timeout buys nothing). The
   * rest of the drain policy (grace period, emptyDir, --force) is patching's.
   */
  drainTimeoutSeconds?: number;
}

/** what each route does and the lock scope it takes */
export const ROUTE_INFO: Record<
  RouteName,
  { scopes: LockScope[]; summary: string; defaults: RouteSettings }
> = {
  'etcd-db-size': {
    scopes: ['control-plane'],
    summary:
      'compact if needed, defragment one member at a time (followers first, leader last, health gate between), disarm NOSPACE',
    defaults: { enabled: true, dryRun: false, cooldownMinutes: 60, maxAttemptsPerDay: 3 },
  },
  'etcd-member-unhealthy': {
    scopes: ['control-plane'],
    summary:
      'restart the unhealthy member only while the others hold quorum; escalate with the member-replacement runbook if it stays unhealthy',
    defaults: { enabled: true, dryRun: false, cooldownMinutes: 30, maxAttemptsPerDay: 2 },
  },
  'node-notready': {
    scopes: ['workers'],
    summary:
      'reboot the NotReady worker through EC2 and wait for Ready; if it stays NotReady, cordon, drain what can be drained and replace it through its Auto Scaling group; at most maxNodesAtOnce nodes, nothing at all past maxUnhealthyPercent',
    defaults: { enabled: true, dryRun: false, cooldownMinutes: 60, maxAttemptsPerDay: 2 },
  },
  'stale-backup': {
    scopes: ['control-plane'],
    summary: 'run the etcd backup now',
    defaults: { enabled: true, dryRun: false, cooldownMinutes: 30, maxAttemptsPerDay: 6 },
  },
  'disk-pressure': {
    scopes: ['workers'],
    summary: 'prune unused container images and vacuum the journal through SSM',
    defaults: { enabled: true, dryRun: false, cooldownMinutes: 60, maxAttemptsPerDay: 4 },
  },
};

export const REMEDIATION_DEFAULTS = {
  maxNodesAtOnce: 1,
  maxUnhealthyPercent: 30,
  readyTimeoutMinutes: 10,
  drainTimeoutSeconds: 120,
} as const;

/** the prefix of the alarms the stack makes for a cluster: `caretaker.<cluster>.<route or metric>` */
export const ALARM_PREFIX = 'caretaker.';

/** the name of a Caretaker alarm: `caretaker.prod-eu.etcd-db-size` */
export function caretakerAlarmName(cluster: string, what: string): string {
  return `${ALARM_PREFIX}${cluster}.${what}`;
}

/** the tag that names the cluster on a user's alarm (with tag propagation) */
export const CLUSTER_ALARM_TAG = 'caretaker:cluster';
/** the tag that names the route on a user's alarm */
export const ROUTE_ALARM_TAG = 'caretaker:route';

export interface RoutableCluster {
  name: string;
  remediation?: RemediationSettings;
}

export type RouteDecision =
  | { action: 'ignore'; reason: string }
  | {
      action: 'start';
      cluster: string;
      route: RouteName;
      settings: RouteSettings;
      /** from the alarm's dimensions, when it names one */
      instanceId?: string;
      member?: string;
      node?: string;
    };

/** the dimension names that point at one instance, member or node */
const INSTANCE_DIMENSIONS = ['InstanceId', 'instanceId', 'instance'];
const MEMBER_DIMENSIONS = ['member', 'Member'];
const NODE_DIMENSIONS = ['node', 'Node', 'NodeName'];

function pick(dims: Record<string, string>[], names: readonly string[]): string | undefined {
  for (const d of dims) for (const n of names) if (d[n]) return d[n];
  return undefined;
}

/**
 * Which runbook an alarm state change starts, if any. Caretaker's own alarms are named
 * `caretaker.<cluster>.<route>`; a composite alarm so named routes the same way. A user's
 * alarm routes through the cluster's `remediation.alarms` (name prefix or tag) or through the
 * tags `caretaker:cluster` + `caretaker:route`. Anything else, any state but ALARM, a cluster
 * without remediation, or a route switched off is ignored: the caller logs it and starts nothing.
 */
export function routeAlarm(event: AlarmEvent, clusters: readonly RoutableCluster[]): RouteDecision {
  if (event.state !== 'ALARM') return { action: 'ignore', reason: `state is ${event.state}, not ALARM` };
  const found = findRoute(event, clusters);
  if (!found) return { action: 'ignore', reason: `alarm ${event.alarmName} is not routed to a runbook` };
  const { cluster, route } = found;
  const remediation = cluster.remediation;
  if (!remediation?.enabled) {
    return { action: 'ignore', reason: `remediation is off for cluster ${cluster.name}` };
  }
  const settings = remediation.routes[route];
  if (!settings.enabled) {
    return { action: 'ignore', reason: `route ${route} is off for cluster ${cluster.name}` };
  }
  const dims = event.metrics.map((m) => m.dimensions);
  const instanceId = pick(dims, INSTANCE_DIMENSIONS);
  const member = pick(dims, MEMBER_DIMENSIONS);
  const node = pick(dims, NODE_DIMENSIONS);
  return {
    action: 'start',
    cluster: cluster.name,
    route,
    settings,
    ...(instanceId !== undefined && { instanceId }),
    ...(member !== undefined && { member }),
    ...(node !== undefined && { node }),
  };
}

function findRoute(
  event: AlarmEvent,
  clusters: readonly RoutableCluster[],
): { cluster: RoutableCluster; route: RouteName } | undefined {
  const byName = (name: string) => clusters.find((c) => c.name === name);
  // caretaker.<cluster>.<route>: the stack's own alarms (and composites named the same way)
  if (event.alarmName.startsWith(ALARM_PREFIX)) {
    const [clusterName, route] = event.alarmName.slice(ALARM_PREFIX.length).split('.');
    const cluster = clusterName ? byName(clusterName) : undefined;
    if (cluster && route && isRoute(route)) return { cluster, route };
  }
  // the cluster's own matchers: a name prefix or a tag
  for (const cluster of clusters) {
    for (const m of cluster.remediation?.alarms ?? []) {
      const nameOk = m.namePrefix === undefined || event.alarmName.startsWith(m.namePrefix);
      const tagOk = m.tag === undefined || event.tags[m.tag.key] === m.tag.value;
      if (nameOk && tagOk) return { cluster, route: m.route };
    }
  }
  // tags alone: caretaker:cluster + caretaker:route
  const tagged = event.tags[CLUSTER_ALARM_TAG];
  const taggedRoute = event.tags[ROUTE_ALARM_TAG];
  const cluster = tagged ? byName(tagged) : undefined;
  if (cluster && taggedRoute && isRoute(taggedRoute)) return { cluster, route: taggedRoute };
  return undefined;
}

// --- attempts: cooldown and a daily limit --------------------------------------------------

/** what the ledger remembers per cluster, route and resource */
export interface AttemptRecord {
  lastAttemptAt: string;
  /** the UTC day (yyyy-mm-dd) attemptsToday counts */
  day: string;
  attemptsToday: number;
}

export type AttemptVerdict =
  | { allowed: true; attempt: number }
  | { allowed: false; rule: 'cooldown' | 'max-attempts-per-day'; message: string };

export function utcDay(at: Date): string {
  return at.toISOString().slice(0, 10);
}

/**
 * Whether one more attempt may start now. The DynamoDB ledger makes the same test in its
 * conditional write, so two alarms at once cannot both pass.
 */
export function judgeAttempt(
  record: AttemptRecord | undefined,
  now: Date,
  settings: Pick<RouteSettings, 'cooldownMinutes' | 'maxAttemptsPerDay'>,
): AttemptVerdict {
  if (!record) return { allowed: true, attempt: 1 };
  const since = (now.getTime() - Date.parse(record.lastAttemptAt)) / 60_000;
  if (since < settings.cooldownMinutes) {
    const until = new Date(Date.parse(record.lastAttemptAt) + settings.cooldownMinutes * 60_000);
    return {
      allowed: false,
      rule: 'cooldown',
      message: `cooldown: the last attempt was at ${record.lastAttemptAt}; the next may start after ${until.toISOString()} (cooldownMinutes ${settings.cooldownMinutes})`,
    };
  }
  const today = utcDay(now);
  const count = record.day === today ? record.attemptsToday : 0;
  if (count >= settings.maxAttemptsPerDay) {
    return {
      allowed: false,
      rule: 'max-attempts-per-day',
      message: `max-attempts-per-day: ${count} attempts today (${today} UTC) reached maxAttemptsPerDay ${settings.maxAttemptsPerDay}; a person has to look`,
    };
  }
  return { allowed: true, attempt: count + 1 };
}

// --- etcd: quorum and the order of maintenance ---------------------------------------------

export interface MemberHealth {
  instanceId: string;
  memberId: string;
  healthy: boolean;
  isLeader: boolean;
}

/** members needed for quorum in a cluster of n */
export function quorumOf(n: number): number {
  return Math.floor(n / 2) + 1;
}

export type SafetyVerdict = { ok: true } | { ok: false; rule: string; message: string };

/**
 * Restarting `target` is allowed only when the other members alone hold quorum: then the
 * restart cannot take the cluster down, whatever the target does.
 */
export function quorumAllowsRestart(members: readonly MemberHealth[], target: string): SafetyVerdict {
  const t = members.find((m) => m.instanceId === target || m.memberId === target);
  if (!t) {
    return { ok: false, rule: 'quorum', message: `quorum: ${target} is not a member of this cluster` };
  }
  const othersHealthy = members.filter((m) => m !== t && m.healthy).length;
  const needed = quorumOf(members.length);
  if (othersHealthy < needed) {
    return {
      ok: false,
      rule: 'quorum',
      message: `quorum: only ${othersHealthy} of the other members are healthy and a cluster of ${members.length} needs ${needed}; restarting ${target} could lose quorum`,
    };
  }
  return { ok: true };
}

/** the unhealthy member to restart: the alarm's own, or the one the live check found */
export function memberToRestart(
  members: readonly MemberHealth[],
  named?: string,
): { target: MemberHealth } | { none: string } {
  if (named) {
    const m = members.find((x) => x.instanceId === named || x.memberId === named);
    if (!m) return { none: `the alarm names ${named}, which is not a member now` };
    if (m.healthy) return { none: `member ${named} is healthy again; nothing to do` };
    return { target: m };
  }
  const unhealthy = members.filter((m) => !m.healthy);
  if (unhealthy.length === 0) return { none: 'every member is healthy again; nothing to do' };
  if (unhealthy.length > 1) {
    return {
      none: `${unhealthy.length} members are unhealthy (${unhealthy.map((m) => m.instanceId).join(', ')}): that is for a person, not a restart`,
    };
  }
  return { target: unhealthy[0]! };
}

/**
 * Defragmentation order: followers first, the leader last (defragmenting the leader stalls
 * writes, and it may move leadership). Refused unless every member is healthy: one member is
 * taken out of service at a time, and only from a healthy cluster.
 */
export function defragOrder(members: readonly MemberHealth[]): { order: MemberHealth[] } | SafetyVerdict {
  const unhealthy = members.filter((m) => !m.healthy);
  if (unhealthy.length > 0) {
    return {
      ok: false,
      rule: 'every-member-healthy',
      message: `every-member-healthy: ${unhealthy.map((m) => m.instanceId).join(', ')} unhealthy; no member is defragmented while another is down`,
    };
  }
  return { order: [...members.filter((m) => !m.isLeader), ...members.filter((m) => m.isLeader)] };
}

// --- workers: how many at once, and when not at all ----------------------------------------

/**
 * No node action when more than `maxUnhealthyPercent` of the nodes is NotReady: that is an
 * outage for a person (a network partition, an AZ, the API server), not a node problem.
 */
export function unhealthyShareAllows(
  total: number,
  notReady: number,
  maxUnhealthyPercent: number,
): SafetyVerdict {
  if (total <= 0)
    return { ok: false, rule: 'unhealthy-share', message: 'unhealthy-share: the cluster has no nodes' };
  const percent = (100 * notReady) / total;
  if (percent > maxUnhealthyPercent) {
    return {
      ok: false,
      rule: 'unhealthy-share',
      message: `unhealthy-share: ${notReady} of ${total} nodes (${percent.toFixed(0)}%) are NotReady, more than maxUnhealthyPercent ${maxUnhealthyPercent}; that is an outage for a person, not a node problem`,
    };
  }
  return { ok: true };
}

/** the nodes to act on now: the alarm's own first, never more than `maxAtOnce` */
export function nodesToAct(notReady: readonly string[], maxAtOnce: number, named?: string): string[] {
  const ordered =
    named && notReady.includes(named) ? [named, ...notReady.filter((n) => n !== named)] : [...notReady];
  return ordered.slice(0, Math.max(0, maxAtOnce));
}

// --- node-notready: reboot, then drain and replace, within the share and the node limit --------

/** what the node-notready plan needs of each Node (node-inventory's entries carry more) */
export interface NodeView {
  name: string;
  /** empty when the Node is not an EC2 instance */
  instanceId: string;
  ready: boolean;
  unschedulable: boolean;
  /** caretaker.io/cordoned-by: the execution that cordoned it */
  cordonedBy?: string;
  bootID: string;
  labels: Record<string, string>;
}

/** the label kubeadm, kops and Kubespray put on control-plane Nodes */
export const CONTROL_PLANE_LABEL = 'node-role.kubernetes.io/control-plane';
/** remediate executions are named `remediate-<cluster>-…`: the owner of their cordons */
export const REMEDIATION_OWNER_PREFIX = 'remediate-';

export interface NodePlanInput {
  nodes: readonly NodeView[];
  /** the alarm's node or instance, when it names one */
  named?: { node?: string; instanceId?: string };
  maxNodesAtOnce: number;
  maxUnhealthyPercent: number;
  readyTimeoutMinutes: number;
}

export interface NodeTarget {
  node: string;
  instanceId: string;
  /** the boot id before the reboot: back means Ready with another one */
  bootID: string;
}

export type NodePlan =
  | { act: true; targets: NodeTarget[]; notReady: number; total: number; wouldDo: string[] }
  | { act: false; nothing: true; message: string; notReady: number; total: number; wouldDo: string[] }
  | { act: false; rule: string; message: string; notReady: number; total: number; wouldDo: string[] };

const isControlPlane = (n: NodeView) => CONTROL_PLANE_LABEL in n.labels;

/**
 * Nodes an earlier remediation still has in hand: cordoned by a remediate execution and still
 * NotReady (its replacement not there yet, or a person has to replace it). The workers lock lets
 * one remediate execution act at a time, so these plus this execution's targets are every node
 * Caretaker is acting on.
 */
export function nodesInHand(nodes: readonly NodeView[]): NodeView[] {
  return nodes.filter(
    (n) => !n.ready && n.unschedulable && (n.cordonedBy ?? '').startsWith(REMEDIATION_OWNER_PREFIX),
  );
}

/**
 * The node-notready runbook's decision from the Nodes as they are now (never the alarm's old
 * numbers). In order: the alarm's node must be a worker Node on an EC2 instance; no action at
 * all when more than maxUnhealthyPercent of the Nodes is NotReady (`unhealthy-share`); nothing
 * to do when the node is Ready again; never more than maxNodesAtOnce nodes in Caretaker's hands
 * at once, counting those an earlier run left cordoned (`max-nodes-at-once`). An alarm that
 * names no node acts on the NotReady workers, up to the free slots.
 */
export function planNodeRemediation(input: NodePlanInput): NodePlan {
  const total = input.nodes.length;
  const notReadyNodes = input.nodes.filter((n) => !n.ready);
  const notReady = notReadyNodes.length;
  const counts = { notReady, total, wouldDo: [] as string[] };
  const refuse = (rule: string, message: string): NodePlan => ({
    act: false,
    rule,
    message: `${rule}: ${message}`,
    ...counts,
  });
  const { node: namedNode, instanceId: namedInstance } = input.named ?? {};
  const named =
    namedNode !== undefined || namedInstance !== undefined
      ? input.nodes.find(
          (n) =>
            (namedNode !== undefined && n.name === namedNode) ||
            (namedInstance !== undefined && n.instanceId === namedInstance),
        )
      : undefined;
  const namedAs = namedNode ?? namedInstance;
  if (namedAs !== undefined && !named) {
    return refuse(
      'unknown-node',
      `the alarm names ${namedAs}, which is no Node of the cluster now; nothing was done`,
    );
  }
  if (named && isControlPlane(named)) {
    return refuse(
      'control-plane-node',
      `${named.name} is a control-plane node; this runbook reboots and replaces workers only (an etcd member's node goes through etcd-member-unhealthy or a person)`,
    );
  }
  const share = unhealthyShareAllows(total, notReady, input.maxUnhealthyPercent);
  if (!share.ok) return { act: false, rule: share.rule, message: share.message, ...counts };
  if (named?.ready) {
    return { act: false, nothing: true, message: `${named.name} is Ready again; nothing to do`, ...counts };
  }
  const inHand = nodesInHand(input.nodes).filter((n) => n !== named);
  const slots = input.maxNodesAtOnce - inHand.length;
  if (slots <= 0) {
    return refuse(
      'max-nodes-at-once',
      `${inHand.map((n) => `${n.name} (cordoned by ${n.cordonedBy})`).join(', ')} still NotReady in an earlier remediation's hands, and maxNodesAtOnce is ${input.maxNodesAtOnce}; nothing was done`,
    );
  }
  const candidates = named ? [named] : notReadyNodes.filter((n) => !isControlPlane(n) && !inHand.includes(n));
  if (candidates.length === 0) {
    return { act: false, nothing: true, message: 'every worker Node is Ready; nothing to do', ...counts };
  }
  const notEc2 = candidates.filter((n) => n.instanceId === '');
  if (named && notEc2.length > 0) {
    return refuse(
      'not-an-ec2-instance',
      `${named.name} has no aws:/// providerID; it cannot be rebooted through EC2`,
    );
  }
  const chosen = nodesToAct(
    candidates.filter((n) => n.instanceId !== '').map((n) => n.name),
    slots,
    named?.name,
  ).map((name) => input.nodes.find((n) => n.name === name)!);
  if (chosen.length === 0) {
    return refuse('not-an-ec2-instance', 'no NotReady worker Node is an EC2 instance; nothing was done');
  }
  const wouldDo = chosen.map(
    (n) =>
      `reboot ${n.instanceId} (${n.name}) through EC2 and wait up to ${input.readyTimeoutMinutes} min for it to be Ready with a new boot id; if it is not: cordon it, drain what can be drained, terminate it in its Auto Scaling group so the group replaces it (no group: leave it cordoned and escalate)`,
  );
  return {
    act: true,
    targets: chosen.map((n) => ({ node: n.name, instanceId: n.instanceId, bootID: n.bootID })),
    notReady,
    total,
    wouldDo,
  };
}

/** how one node's remediation ended (the Map item's last state says which) */
export type NodeOutcome =
  | { node: string; instanceId: string; outcome: 'ready-after-reboot' }
  | { node: string; instanceId: string; outcome: 'replaced'; group: string; drained?: boolean }
  | { node: string; instanceId: string; outcome: 'no-auto-scaling-group'; drained?: boolean };

/**
 * The run's result for the report: success when every node is back or replaced; otherwise the
 * rule `no-auto-scaling-group` naming every node left cordoned for a person.
 */
export function summarizeNodeOutcomes(
  outcomes: readonly NodeOutcome[],
): { escalate: false; message: string } | { escalate: true; rule: string; message: string } {
  const say = (o: NodeOutcome) => {
    switch (o.outcome) {
      case 'ready-after-reboot':
        return `${o.node} (${o.instanceId}) is Ready again after its reboot`;
      case 'replaced':
        return `${o.node} (${o.instanceId}) stayed NotReady: ${o.drained === false ? 'drained as far as it could be' : 'drained'} and terminated in ${o.group}, which launches its replacement`;
      case 'no-auto-scaling-group':
        return `${o.node} (${o.instanceId}) stayed NotReady: left cordoned and ${o.drained === false ? 'drained as far as it could be' : 'drained'}; no Auto Scaling group owns it, so replace it by hand`;
    }
  };
  const stuck = outcomes.filter((o) => o.outcome === 'no-auto-scaling-group');
  const message = outcomes.map(say).join('; ');
  if (stuck.length > 0) {
    return {
      escalate: true,
      rule: 'no-auto-scaling-group',
      message: `no-auto-scaling-group: ${stuck.map((o) => o.node).join(', ')} left cordoned; ${message}`,
    };
  }
  return { escalate: false, message };
}
