import * as z from '../zod';
import { InvalidInputError } from '../errors';

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

const tagMap = z
  .record(z.string().min(1).max(128), z.string().max(256))
  .refine((tags) => Object.keys(tags).length > 0, 'needs at least one tag');

const schedule = z
  .string()
  .regex(
    /^(rate\(\d+ (minute|minutes|hour|hours|day|days)\)|cron\(\S+ \S+ \S+ \S+ \S+ \S+\))$/,
    'must be rate(N unit) or cron(min hour day month weekday year), as EventBridge Scheduler takes it',
  );

const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'must be an IANA time zone such as UTC or Europe/Berlin');

const count = (max: number) => z.number().int().min(0).max(max);

const retentionInput = z
  .object({
    keepLast: count(1000).optional(),
    hourly: count(1000).optional(),
    daily: count(1000).optional(),
    weekly: count(520).optional(),
    monthly: count(120).optional(),
  })
  .strict();

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
  })
  .strict();

const clusterInput = z
  .object({
    name: dnsLabel,
    kind: z.enum(CLUSTER_KINDS),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'must be an AWS region such as eu-west-1'),
    controlPlane: z.object({ tags: tagMap }).strict().optional(),
    workers: z.object({ tags: tagMap }).strict().optional(),
    etcd: etcdInput.optional(),
    backup: z
      .object({
        enabled: z.boolean().optional(),
        schedule: schedule.optional(),
        timeZone: timeZone.optional(),
        retention: retentionInput.optional(),
      })
      .strict()
      .optional(),
    restoreVerify: z
      .object({
        enabled: z.boolean().optional(),
        schedule: schedule.optional(),
        timeZone: timeZone.optional(),
        /** the scratch instance: an image with etcd (or etcdutl), the AWS CLI and the SSM agent */
        launchTemplate: z
          .string()
          .regex(
            /^(lt-[0-9a-f]{8,17}|[A-Za-z0-9()./_-]{3,128})$/,
            'must be a launch template id (lt-…) or name',
          ),
        launchTemplateVersion: z
          .string()
          .regex(/^(\$Latest|\$Default|\d+)$/, 'must be $Latest, $Default or a number')
          .optional(),
        subnetId: z
          .string()
          .regex(/^subnet-[0-9a-f]{8,17}$/, 'must be a subnet id')
          .optional(),
        instanceType: z
          .string()
          .regex(/^[a-z0-9]+\.[a-z0-9]+$/, 'must be an instance type such as t3.medium')
          .optional(),
        /** the janitor terminates a scratch instance this long after launch, whatever happened */
        scratchTtlMinutes: z.number().int().min(15).max(1440).optional(),
        /** the alarm fires when no snapshot was verified in this many hours */
        alarmAfterHours: z.number().int().min(1).max(720).optional(),
      })
      .strict()
      .optional(),
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
        /** days before a locked snapshot may be deleted; omit for no Object Lock */
        objectLockDays: z.number().int().min(1).max(3650).optional(),
        /** delete non-current (pruned) versions after this many days */
        noncurrentDays: z.number().int().min(1).max(3650).optional(),
      })
      .strict()
      .optional(),
  })
  .strict();

export type ConfigInput = z.input<typeof configSchema>;

export interface Retention {
  keepLast: number;
  hourly: number;
  daily: number;
  weekly: number;
  monthly: number;
}

export interface EtcdAccess {
  clientPort: number;
  caFile: string;
  certFile: string;
  keyFile: string;
  etcdctl: 'host' | 'crictl';
  dataDir: string;
}

/** a cluster with every default filled in: what the Lambdas and the SSM documents see */
export interface ClusterConfig {
  name: string;
  kind: ClusterKind;
  region: string;
  controlPlaneTags: Record<string, string>;
  workerTags: Record<string, string>;
  /** absent for EKS: AWS runs etcd */
  etcd?: EtcdAccess;
  backup: { enabled: boolean; schedule: string; timeZone: string; retention: Retention };
  /** absent when the cluster has no restoreVerify block (or is EKS) */
  restoreVerify?: RestoreVerifyConfig;
}

export interface RestoreVerifyConfig {
  enabled: boolean;
  schedule: string;
  timeZone: string;
  launchTemplate: string;
  launchTemplateVersion: string;
  subnetId?: string;
  instanceType?: string;
  scratchTtlMinutes: number;
  alarmAfterHours: number;
}

export interface CaretakerConfig {
  clusters: ClusterConfig[];
  notifications: { emails: string[] };
  bucket: { objectLockDays?: number; noncurrentDays: number };
}

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
    // etcd-manager serves the main cluster on 4001 (events on 4002)
    clientPort: 4001,
    caFile: '/etc/kubernetes/pki/kube-apiserver/etcd-ca.crt',
    certFile: '/etc/kubernetes/pki/kube-apiserver/etcd-client.crt',
    keyFile: '/etc/kubernetes/pki/kube-apiserver/etcd-client.key',
    etcdctl: 'crictl',
    dataDir: '/mnt/master-vol-etcd-main/data',
  },
};

export const RETENTION_DEFAULTS: Retention = { keepLast: 6, hourly: 24, daily: 7, weekly: 4, monthly: 6 };
export const BACKUP_SCHEDULE_DEFAULT = 'rate(1 hour)';
export const RESTORE_VERIFY_SCHEDULE_DEFAULT = 'rate(1 day)';
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
    const backupEnabled = c.backup?.enabled ?? c.kind !== 'eks';
    if (c.kind === 'eks' && backupEnabled) {
      problems.push(`${at}.backup.enabled: etcd backups are not possible on EKS (AWS owns etcd)`);
    }
    if (c.kind === 'eks' && c.restoreVerify) {
      problems.push(`${at}.restoreVerify: EKS has no etcd snapshots to verify; remove this block`);
    }
    const rv = c.restoreVerify;
    return {
      name: c.name,
      kind: c.kind,
      region: c.region,
      controlPlaneTags: {
        ...(c.controlPlane?.tags ?? { 'caretaker:role': 'control-plane' }),
        [CLUSTER_TAG]: c.name,
      },
      workerTags: { ...(c.workers?.tags ?? { 'caretaker:role': 'worker' }), [CLUSTER_TAG]: c.name },
      etcd: c.kind === 'eks' ? undefined : { ...ETCD_DEFAULTS[c.kind], ...c.etcd },
      backup: {
        enabled: backupEnabled,
        schedule: c.backup?.schedule ?? BACKUP_SCHEDULE_DEFAULT,
        timeZone: c.backup?.timeZone ?? 'UTC',
        retention: { ...RETENTION_DEFAULTS, ...c.backup?.retention },
      },
      ...(rv && {
        restoreVerify: {
          enabled: rv.enabled ?? true,
          schedule: rv.schedule ?? RESTORE_VERIFY_SCHEDULE_DEFAULT,
          timeZone: rv.timeZone ?? c.backup?.timeZone ?? 'UTC',
          launchTemplate: rv.launchTemplate,
          launchTemplateVersion: rv.launchTemplateVersion ?? '$Default',
          subnetId: rv.subnetId,
          instanceType: rv.instanceType,
          scratchTtlMinutes: rv.scratchTtlMinutes ?? 120,
          alarmAfterHours: rv.alarmAfterHours ?? 48,
        },
      }),
    };
  });
  for (const [i, c] of clusters.entries()) {
    const tags = parsed.data.clusters[i]?.controlPlane?.tags;
    if (tags?.[CLUSTER_TAG] !== undefined && tags[CLUSTER_TAG] !== c.name) {
      problems.push(
        `clusters[${i}] (${c.name}).controlPlane.tags: "${CLUSTER_TAG}" must equal the cluster name; Caretaker's IAM scoping relies on it`,
      );
    }
  }
  if (problems.length > 0) {
    throw new InvalidInputError(`invalid Caretaker configuration:\n  ${problems.join('\n  ')}`, problems);
  }
  return {
    clusters,
    notifications: { emails: parsed.data.notifications?.emails ?? [] },
    bucket: {
      objectLockDays: parsed.data.bucket?.objectLockDays,
      noncurrentDays: parsed.data.bucket?.noncurrentDays ?? 30,
    },
  };
}

/** the interval a schedule promises, for "no backup in 2 × interval" alarms; cron → 1 day */
export function scheduleIntervalSeconds(expr: string): number {
  const m = /^rate\((\d+) (minute|hour|day)s?\)$/.exec(expr);
  if (!m) return 86_400;
  const unit = { minute: 60, hour: 3600, day: 86_400 }[m[2] as 'minute' | 'hour' | 'day'];
  return Number(m[1]) * unit;
}
