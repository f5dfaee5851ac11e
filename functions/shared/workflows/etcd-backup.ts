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

export interface BackupSettings {
  enabled: boolean;
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
        schedule: block?.schedule ?? BACKUP_SCHEDULE_DEFAULT,
        timeZone: block?.timeZone ?? 'UTC',
        retention: { ...RETENTION_DEFAULTS, ...block?.retention },
      };
    },
  },
  schedule: (backup) =>
    backup.enabled ? { expression: backup.schedule, timeZone: backup.timeZone } : undefined,
  outcome: { afterFailure: 'The operation lock was released; no snapshot was pruned.' },
  cli: { verb: 'backup', summary: 'take an etcd snapshot now, as the schedule does' },
});
