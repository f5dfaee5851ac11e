import * as z from '../zod';
import { baseInput, defineWorkflow } from './workflow';

export interface Retention {
  keepLast: number;
  hourly: number;
  daily: number;
  weekly: number;
  monthly: number;
}

export const RETENTION_DEFAULTS: Retention = { keepLast: 6, hourly: 24, daily: 7, weekly: 4, monthly: 6 };
export const BACKUP_SCHEDULE_DEFAULT = 'rate(1 hour)';

/** who takes the snapshots: Caretaker, or (kops) etcd-manager into the state store */
export const BACKUP_SOURCES = ['caretaker', 'etcd-manager'] as const;
export type BackupSource = (typeof BACKUP_SOURCES)[number];

export interface BackupSettings {
  enabled: boolean;
  /**
   * etcd-manager: the backup workflow takes no snapshot, restore-verify checks etcd-manager's;
   * always set by the config (absent in a hand-built value means caretaker)
   */
  source?: BackupSource;
  schedule: string;
  timeZone: string;
  retention: Retention;
}

/** lock → find a healthy member → snapshot via SSM → verify upload → prune → outcome → unlock */
export const etcdBackup = defineWorkflow({
  name: 'etcd-backup',
  summary:
    'lock, snapshot a healthy etcd member through SSM, verify the upload, prune by retention, report, unlock',
  comment: 'Caretaker etcd backup: lock, snapshot a healthy member, verify, prune, report, unlock',
  needsEtcd: true,
  substitutions: {
    AcquireLockFunctionArn: 'acquire-lock',
    ReleaseLockFunctionArn: 'release-lock',
    FindControlPlaneFunctionArn: 'find-control-plane',
    SendCommandFunctionArn: 'send-command',
    PickMemberFunctionArn: 'pick-member',
    VerifyUploadFunctionArn: 'verify-upload',
    PruneSnapshotsFunctionArn: 'prune-snapshots',
    PublishOutcomeFunctionArn: 'publish-outcome',
  },
  input: baseInput,
  config: {
    key: 'backup',
    schema: (f) =>
      z
        .object({
          enabled: z.boolean().optional(),
          /** kops default etcd-manager (it already backs up every 15 minutes); elsewhere caretaker */
          source: z.enum(BACKUP_SOURCES).optional(),
          schedule: f.schedule.optional(),
          timeZone: f.timeZone.optional(),
          retention: z
            .object({
              keepLast: f.count(1000).optional(),
              hourly: f.count(1000).optional(),
              daily: f.count(1000).optional(),
              weekly: f.count(520).optional(),
              monthly: f.count(120).optional(),
            })
            .strict()
            .optional(),
        })
        .strict(),
    resolve: (block, c): BackupSettings => {
      const enabled = block?.enabled ?? c.kind !== 'eks';
      if (c.kind === 'eks' && enabled) {
        c.problems.push(`${c.at}.backup.enabled: etcd backups are not possible on EKS (AWS owns etcd)`);
      }
      return {
        enabled,
        // config.ts refuses etcd-manager for kinds that have no etcd-manager
        source: block?.source ?? (c.kind === 'kops' ? 'etcd-manager' : 'caretaker'),
        schedule: block?.schedule ?? BACKUP_SCHEDULE_DEFAULT,
        timeZone: block?.timeZone ?? 'UTC',
        retention: { ...RETENTION_DEFAULTS, ...block?.retention },
      };
    },
  },
  // etcd-manager takes a kops cluster's backups itself: nothing to schedule (a manual run says so)
  schedule: (backup) =>
    backup.enabled && backup.source !== 'etcd-manager'
      ? { expression: backup.schedule, timeZone: backup.timeZone }
      : undefined,
  outcome: { afterFailure: 'The operation lock was released; no snapshot was pruned.' },
  cli: { verb: 'backup', summary: 'take an etcd snapshot now, as the schedule does' },
});
