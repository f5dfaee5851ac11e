import type { ZodOptional } from 'zod';
import * as z from '../zod';
import { InvalidInputError } from '../errors';
import { scheduleExpressionProblem } from './schedule-expression';
import { approvalBlock, resolveApproval, type ApprovalSettings } from './approvals';
import {
  resolveSlackCluster,
  slackClusterBlock,
  slackDeploymentBlock,
  type SlackClusterSettings,
  type SlackDeployment,
} from './slack';
import { WORKFLOWS, type ConfigFields, type WorkflowSettings } from '../workflows';
import { parseStateStore, STATE_STORE_PATTERN, type KopsSettings } from './etcd-manager';
import { healthInput, resolveHealth, type HealthSettings } from './health';

/**
 * caretaker.config.json: the single source of truth for what Caretaker manages. Parsed at the
 * edge (synth, the CLI, the sandbox); Lambdas receive each cluster already resolved.
 */

export const CLUSTER_KINDS = ['kubeadm', 'kubespray', 'kops', 'eks'] as const;
export type ClusterKind = (typeof CLUSTER_KINDS)[number];

/** the tag every managed instance carries; IAM scopes ssm:SendCommand with it */
export const CLUSTER_TAG = 'caretaker:cluster';

const dnsLabel = z
  .string()
  .regex(
    /^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/,
    'must be a DNS label: lower-case letters, digits and "-", 1-40 characters',
  );

const absolutePath = z
  .string()
  .regex(
    /^\/([A-Za-z0-9._/-]|\{hostname\})+$/,
    'must be an absolute path (letters, digits, . _ - /, {hostname})',
  );

/** an IAM role ARN (any partition, with or without a path) */
export const roleArn = z
  .string()
  .regex(
    /^arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}$/,
    'must be an IAM role ARN such as arn:aws:iam::123456789012:role/name',
  );

/** an ELBv2 target group ARN (any partition) */
export const targetGroupArn = z
  .string()
  .regex(
    /^arn:aws(-[a-z]+)*:elasticloadbalancing:[a-z]{2}(-[a-z]+)+-\d:\d{12}:targetgroup\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/,
    'must be a target group ARN such as arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/k8s-api/0123456789abcdef',
  );

const tagMap = z
  .record(z.string().min(1).max(128), z.string().max(256))
  .refine((tags) => Object.keys(tags).length > 0, 'needs at least one tag');

/** validated as EventBridge Scheduler validates it (schedule-expression.ts) */
const schedule = z.string().superRefine((expression, ctx) => {
  const problem = scheduleExpressionProblem(expression);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});

const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as UTC or Europe/Berlin');

const count = (max: number) => z.number().int().min(0).max(max);

/** each workflow's block (`backup`, `restoreVerify`), as its registry entry describes it */
const fields: ConfigFields = { schedule, timeZone, count };
type Blocks = {
  [W in (typeof WORKFLOWS)[number] as W['config']['key']]: ReturnType<W['config']['schema']>;
};
const workflowBlocks = Object.fromEntries(
  WORKFLOWS.map((w) => [w.config.key, w.config.schema(fields).optional()]),
) as { [K in keyof Blocks]: ZodOptional<Blocks[K]> };

const etcdInput = z
  .object({
    clientPort: z.number().int().min(1).max(65535).optional(),
    caFile: absolutePath.optional(),
    certFile: absolutePath.optional(),
    keyFile: absolutePath.optional(),
    /** host: etcdctl on the node; crictl: run etcdctl inside the etcd container */
    etcdctl: z.enum(['host', 'crictl']).optional(),
    /** a directory the etcd container and the host share (crictl mode writes the snapshot there) */
    dataDir: absolutePath.optional(),
    /** kube-apiserver --etcd-prefix, when it is not /registry: where backups count keys and look for namespaces */
    prefix: z
      .string()
      .regex(
        /^(\/[A-Za-z0-9._-]{1,63}){1,4}$/,
        'must be an etcd key prefix such as /registry (no trailing slash)',
      )
      .optional(),
    /** the members' --quota-backend-bytes (etcd's default 2 GiB); the probe and remediation measure against it */
    quotaBackendBytes: z
      .number()
      .int()
      .min(1_048_576, 'must be at least 1 MiB')
      .max(8 * 1024 ** 3, "must be at most 8 GiB (etcd's suggested maximum)")
      .optional(),
    /** kops: also back up (and verify) the events etcd (etcd-manager-events, port 4002) */
    events: z.boolean().optional(),
  })
  .strict();

/** kops: where its state store is, so Caretaker can read etcd-manager's own backups */
const kopsInput = z
  .object({
    stateStore: z
      .string()
      .regex(STATE_STORE_PATTERN, 'must be the kops state store as s3://bucket or s3://bucket/prefix'),
    /** kops' name for the cluster (an FQDN such as k8s.example.com); default: the Caretaker name */
    clusterName: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be the kops cluster name (a DNS name)')
      .optional(),
  })
  .strict();

const kubernetesInput = z
  .object({
    /** the kubeconfig `kubectl` uses on a control-plane node (drain, cordon, node checks) */
    kubeconfig: absolutePath.optional(),
  })
  .strict();

const clusterInput = z
  .object({
    name: dnsLabel,
    kind: z.enum(CLUSTER_KINDS),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1'),
    controlPlane: z
      .object({
        tags: tagMap.optional(),
        /** the API load balancer's ELBv2 target groups; an upgrade takes each node out of them first */
        targetGroupArns: z.array(targetGroupArn).max(10).optional(),
      })
      .strict()
      .optional(),
    workers: z.object({ tags: tagMap }).strict().optional(),
    etcd: etcdInput.optional(),
    kubernetes: kubernetesInput.optional(),
    /** approval gates of workflows that change the cluster: timeout, approvers, self-approval */
    approval: approvalBlock.optional(),
    /** ChatOps: the channel for this cluster's messages, and who may run which verb from Slack */
    slack: slackClusterBlock.optional(),
    kops: kopsInput.optional(),
    /** the health probe and its default alarms (domain/health.ts) */
    health: healthInput.optional(),
    ...workflowBlocks,
  })
  .strict();

export const configSchema = z
  .object({
    $schema: z.string().optional(),
    clusters: z.array(clusterInput).min(1, 'list at least one cluster'),
    notifications: z
      .object({ emails: z.array(z.email()).optional() })
      .strict()
      .optional(),
    bucket: z
      .object({
        /** S3 Object Lock (governance mode) on the snapshot bucket; S3 sets it when the bucket is made */
        objectLock: z.boolean().optional(),
        /** each object version is locked this many days after it is written */
        objectLockDays: z.number().int().min(1).max(3650).optional(),
        /** delete non-current (pruned) versions after this many days */
        noncurrentDays: z.number().int().min(1).max(3650).optional(),
        /** the IAM roles of the control-plane nodes: the only ones besides Caretaker that may encrypt with the snapshot key */
        nodeRoleArns: z.array(roleArn).optional(),
        /** roles that may read snapshots besides Caretaker and the scratch instances (break glass) */
        breakGlassRoleArns: z.array(roleArn).optional(),
      })
      .strict()
      .optional(),
    /** ChatOps: the Slack workspace Caretaker answers, and the channels it takes commands in */
    slack: slackDeploymentBlock.optional(),
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;

export type { Retention } from '../workflows/etcd-backup';
export type { RestoreVerifyConfig } from '../workflows/restore-verify';

export interface EtcdAccess {
  clientPort: number;
  caFile: string;
  certFile: string;
  keyFile: string;
  etcdctl: 'host' | 'crictl';
  dataDir: string;
  /** kube-apiserver --etcd-prefix; absent: /registry, the etcd-snapshot document's EtcdPrefix default */
  prefix?: string;
  /** kops: etcd runs inside etcd-manager (its pods, /opt/etcd-v<version> tools, /rootfs) */
  etcdManager?: boolean;
  /** kops: back up and verify the events etcd too (etcd-manager-events, port 4002) */
  events?: boolean;
  /** the members' --quota-backend-bytes; absent: etcd's default, ETCD_QUOTA_DEFAULT */
  quotaBackendBytes?: number;
}

/** kops' events etcd: etcd-manager serves it on 4002 (kops pkg/wellknownports EtcdEventsClientPort) */
export const KOPS_EVENTS_CLIENT_PORT = 4002;

/** etcd's own default --quota-backend-bytes (2 GiB) */
export const ETCD_QUOTA_DEFAULT = 2 * 1024 ** 3;

/**
 * a cluster with every default filled in: what the Lambdas and the SSM documents see; each
 * workflow's block (`backup`, `restoreVerify?`) comes from its registry entry
 */
export type ClusterConfig = ClusterBase & WorkflowSettings;

interface ClusterBase {
  name: string;
  kind: ClusterKind;
  region: string;
  controlPlaneTags: Record<string, string>;
  /** the API load balancer's target groups (controlPlane.targetGroupArns); absent: none configured */
  controlPlaneTargetGroupArns?: string[];
  workerTags: Record<string, string>;
  /** absent for EKS: AWS runs etcd */
  etcd?: EtcdAccess;
  /** how node scripts reach the API server: kubectl on a control-plane node; absent for EKS */
  kubernetes?: KubernetesAccess;
  /** the approval gates' settings, defaults filled in (domain/approvals.ts); parseConfig always sets it */
  approval?: ApprovalSettings;
  /** ChatOps settings (domain/slack.ts); absent: no Slack for this cluster */
  slack?: SlackClusterSettings;
  /** kops: its state store, where etcd-manager keeps its own backups; absent when not configured */
  kops?: KopsSettings;
  /** the health probe: schedule and default alarms (parseConfig always fills it) */
  health?: HealthSettings;
}

export interface CaretakerConfig {
  clusters: ClusterConfig[];
  notifications: { emails: string[] };
  bucket: BucketConfig;
  /** absent: no Slack app (no receiver is deployed) */
  slack?: SlackDeployment;
}

export interface BucketConfig {
  /** absent: no Object Lock (`objectLock: false`) */
  objectLockDays?: number;
  noncurrentDays: number;
  nodeRoleArns: string[];
  breakGlassRoleArns: string[];
}

/** a snapshot stays locked through its first day, while it is the restore point; see README's Security */
export const OBJECT_LOCK_DAYS_DEFAULT = 1;

export interface KubernetesAccess {
  kubeconfig: string;
}

/** the admin-capable kubeconfig each installer leaves on its control-plane nodes */
export const KUBERNETES_DEFAULTS: Record<Exclude<ClusterKind, 'eks'>, KubernetesAccess> = {
  // kubeadm init/join --control-plane writes it (O=kubeadm:cluster-admins, bound to cluster-admin)
  kubeadm: { kubeconfig: '/etc/kubernetes/admin.conf' },
  // kubespray runs kubeadm on its control-plane nodes
  kubespray: { kubeconfig: '/etc/kubernetes/admin.conf' },
  // nodeup's KubectlBuilder writes it on every node with an API server, for user "kubecfg" in
  // system:masters (kubernetes/kops nodeup/pkg/model/kubectl.go); the kubelet's and
  // kube-scheduler's kubeconfigs under /var/lib are not admins
  kops: { kubeconfig: '/var/lib/kubectl/kubeconfig' },
};

/** where each installer puts etcd, so a kubeadm user writes five lines */
export const ETCD_DEFAULTS: Record<Exclude<ClusterKind, 'eks'>, EtcdAccess> = {
  kubeadm: {
    clientPort: 2379,
    caFile: '/etc/kubernetes/pki/etcd/ca.crt',
    certFile: '/etc/kubernetes/pki/etcd/healthcheck-client.crt',
    keyFile: '/etc/kubernetes/pki/etcd/healthcheck-client.key',
    // kubeadm runs etcd as a static pod; the host usually has no etcdctl
    etcdctl: 'crictl',
    dataDir: '/var/lib/etcd',
  },
  kubespray: {
    clientPort: 2379,
    caFile: '/etc/ssl/etcd/ssl/ca.pem',
    certFile: '/etc/ssl/etcd/ssl/admin-{hostname}.pem',
    keyFile: '/etc/ssl/etcd/ssl/admin-{hostname}-key.pem',
    // kubespray's default etcd_deployment_type is host: a systemd unit with etcdctl beside it
    etcdctl: 'host',
    dataDir: '/var/lib/etcd',
  },
  kops: {
    // etcd-manager serves the main cluster on 4001 (events on 4002): kops pkg/wellknownports
    clientPort: 4001,
    // kube-apiserver's etcd client certificate as nodeup writes it from kops 1.22 on
    // (nodeup/pkg/model/kube_apiserver.go: PathSrvKubernetes()/kube-apiserver); kops 1.12-1.21
    // used /etc/kubernetes/pki/kube-apiserver/ (README lists both)
    caFile: '/srv/kubernetes/kube-apiserver/etcd-ca.crt',
    certFile: '/srv/kubernetes/kube-apiserver/etcd-client.crt',
    keyFile: '/srv/kubernetes/kube-apiserver/etcd-client.key',
    etcdctl: 'crictl',
    // unused with etcd-manager: its container sees the host's / at /rootfs, so snapshots go to a
    // host work directory; kept for a kops cluster configured with etcdManager: false
    dataDir: '/mnt/master-vol-etcd-main/data',
    etcdManager: true,
  },
};

export { BACKUP_SCHEDULE_DEFAULT, RETENTION_DEFAULTS } from '../workflows/etcd-backup';
export { RESTORE_VERIFY_SCHEDULE_DEFAULT } from '../workflows/restore-verify';
/** tags Caretaker puts on scratch instances; the janitor and terminate-scratch act only on these */
export const ROLE_TAG = 'caretaker:role';
export const SCRATCH_ROLE = 'scratch';
export const EXPIRES_TAG = 'caretaker:expires-at';

/** turns zod issues into one line per field: `clusters[0] (prod).etcd.caFile: must be ...` */
function describeIssues(issues: readonly z.$ZodIssue[], input: unknown): string[] {
  return issues.map((issue) => {
    const path = issue.path
      .map((part, i) => {
        if (typeof part === 'number') {
          const name = issue.path[i - 1] === 'clusters' ? clusterNameAt(input, part) : undefined;
          return name ? `[${part}] (${name})` : `[${part}]`;
        }
        return `.${String(part)}`;
      })
      .join('')
      .replace(/^\./, '');
    return `${path || '(root)'}: ${issue.message}`;
  });
}

function clusterNameAt(input: unknown, index: number): string | undefined {
  const clusters = (input as { clusters?: unknown })?.clusters;
  const cluster = Array.isArray(clusters) ? (clusters[index] as { name?: unknown }) : undefined;
  return typeof cluster?.name === 'string' ? cluster.name : undefined;
}

/**
 * Parses and resolves a configuration document.
 * @throws InvalidInputError naming every field that is wrong, one per line.
 */
export function parseConfig(input: unknown): CaretakerConfig {
  const parsed = configSchema.safeParse(input);
  if (!parsed.success) {
    const lines = describeIssues(parsed.error.issues, input);
    throw new InvalidInputError(`invalid Caretaker configuration:\n  ${lines.join('\n  ')}`, lines);
  }
  const problems: string[] = [];
  const seen = new Set<string>();
  const clusters = parsed.data.clusters.map((c, i): ClusterConfig => {
    const at = `clusters[${i}] (${c.name})`;
    if (seen.has(c.name)) problems.push(`${at}.name: "${c.name}" is listed twice`);
    seen.add(c.name);
    if (c.kind === 'eks' && c.etcd) problems.push(`${at}.etcd: EKS runs etcd for you; remove this block`);
    if (c.kind === 'eks' && c.kubernetes)
      problems.push(`${at}.kubernetes: Caretaker reaches EKS through the EKS API; remove this block`);
    const raw = c as Readonly<Record<string, unknown>>;
    const context = { name: c.name, kind: c.kind, raw, at, problems };
    const settings = Object.fromEntries(
      WORKFLOWS.map((w) => {
        const resolve = w.config.resolve as (block: unknown, ctx: typeof context) => unknown;
        return [w.config.key, resolve(raw[w.config.key], context)];
      }).filter(([, value]) => value !== undefined),
    ) as WorkflowSettings;
    return {
      name: c.name,
      kind: c.kind,
      region: c.region,
      controlPlaneTags: {
        ...(c.controlPlane?.tags ?? { 'caretaker:role': 'control-plane' }),
        [CLUSTER_TAG]: c.name,
      },
      ...(c.controlPlane?.targetGroupArns
        ? { controlPlaneTargetGroupArns: c.controlPlane.targetGroupArns }
        : {}),
      workerTags: { ...(c.workers?.tags ?? { 'caretaker:role': 'worker' }), [CLUSTER_TAG]: c.name },
      etcd: c.kind === 'eks' ? undefined : { ...ETCD_DEFAULTS[c.kind], ...c.etcd },
      kubernetes: c.kind === 'eks' ? undefined : { ...KUBERNETES_DEFAULTS[c.kind], ...c.kubernetes },
      approval: resolveApproval(c.approval),
      ...(c.slack && { slack: resolveSlackCluster(c.slack) }),
      ...(c.kops && {
        kops: { stateStore: parseStateStore(c.kops.stateStore)!, clusterName: c.kops.clusterName ?? c.name },
      }),
      health: resolveHealth(c.health, {
        kind: c.kind,
        backupIntervalSeconds: scheduleIntervalSeconds(settings.backup.schedule),
        verifyAfterHours: settings.restoreVerify?.alarmAfterHours ?? VERIFY_ALARM_HOURS_DEFAULT,
        verifies: settings.restoreVerify?.enabled === true,
        snapshotsByCaretaker: settings.backup.source !== 'etcd-manager',
      }),
      ...settings,
    };
  });
  for (const [i, c] of clusters.entries()) kopsProblems(c, `clusters[${i}] (${c.name})`, problems);
  for (const [i, c] of clusters.entries()) {
    const tags = parsed.data.clusters[i]?.controlPlane?.tags;
    if (tags?.[CLUSTER_TAG] !== undefined && tags[CLUSTER_TAG] !== c.name) {
      problems.push(
        `clusters[${i}] (${c.name}).controlPlane.tags: "${CLUSTER_TAG}" must equal the cluster name; Caretaker's IAM scoping relies on it`,
      );
    }
  }
  if (parsed.data.bucket?.objectLock === false && parsed.data.bucket.objectLockDays !== undefined) {
    problems.push(
      'bucket.objectLockDays: Object Lock is off (bucket.objectLock is false); remove one of the two',
    );
  }
  if (problems.length > 0) {
    throw new InvalidInputError(`invalid Caretaker configuration:\n  ${problems.join('\n  ')}`, problems);
  }
  return {
    clusters,
    ...(parsed.data.slack && {
      slack: { teamId: parsed.data.slack.teamId, channels: parsed.data.slack.channels ?? [] },
    }),
    notifications: { emails: parsed.data.notifications?.emails ?? [] },
    bucket: {
      objectLockDays:
        parsed.data.bucket?.objectLock === false
          ? undefined
          : (parsed.data.bucket?.objectLockDays ?? OBJECT_LOCK_DAYS_DEFAULT),
      noncurrentDays: parsed.data.bucket?.noncurrentDays ?? 30,
      nodeRoleArns: parsed.data.bucket?.nodeRoleArns ?? [],
      breakGlassRoleArns: parsed.data.bucket?.breakGlassRoleArns ?? [],
    },
  };
}

/** what only kops has: the events etcd, etcd-manager's own backups and the state store they are in */
function kopsProblems(c: ClusterConfig, at: string, problems: string[]): void {
  if (c.kind !== 'kops' && c.kops)
    problems.push(`${at}.kops: only a kops cluster has a kops state store; remove this block`);
  if (c.kind !== 'kops' && c.etcd?.events !== undefined) {
    problems.push(
      `${at}.etcd.events: only kops runs a separate events etcd (etcd-manager-events on 4002); remove it`,
    );
  }
  if (
    c.kind === 'kops' &&
    c.etcd?.events &&
    c.backup.source !== 'etcd-manager' &&
    c.etcd.etcdctl !== 'crictl'
  ) {
    problems.push(
      `${at}.etcd.events: Caretaker reaches the events etcd inside etcd-manager's etcd-manager-events-* pod, which takes etcd.etcdctl "crictl" (it is "${c.etcd.etcdctl}")`,
    );
  }
  if (c.backup.source === 'etcd-manager' && c.kind !== 'kops') {
    problems.push(
      `${at}.backup.source: etcd-manager takes backups only on kops; a ${c.kind} cluster is backed up by Caretaker (source "caretaker")`,
    );
  }
  if (c.kind === 'kops' && c.backup.source === 'etcd-manager' && c.restoreVerify && !c.kops) {
    problems.push(
      `${at}.kops.stateStore: restoreVerify checks etcd-manager's own backups (backup.source etcd-manager), which are in the kops state store: set kops.stateStore to s3://<bucket>[/<prefix>]`,
    );
  }
}

/** without restore verification, the verified-snapshot alarm waits this long (8 days) */
export const VERIFY_ALARM_HOURS_DEFAULT = 192;

/** the interval a schedule promises, for "no backup in 2 × interval" alarms; cron → 1 day */
export function scheduleIntervalSeconds(expr: string): number {
  const m = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expr);
  if (!m) return 86_400;
  const unit = { minute: 60, hour: 3600, day: 86_400 }[m[2] as 'minute' | 'hour' | 'day'];
  return Number(m[1]) * unit;
}
export type { EksSettings } from '../workflows/eks';
