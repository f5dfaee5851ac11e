import * as z from '../zod';
import { baseInput, defineWorkflow } from './workflow';

export const RESTORE_VERIFY_SCHEDULE_DEFAULT = 'rate(1 day)';

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
  /** the role of the launch template's instance profile: the only role launch-scratch may pass */
  instanceRole: string;
}

/** pick a snapshot → scratch instance → restore and check there → record → terminate → report */
export const restoreVerify = defineWorkflow({
  name: 'restore-verify',
  summary: 'restore a snapshot into a scratch instance, compare it with its manifest and record the verdict',
  comment:
    'Caretaker restore verification: pick a snapshot, restore it on a scratch instance, record the verdict, terminate the scratch instance, report',
  needsEtcd: true,
  substitutions: {
    PickSnapshotFunctionArn: 'pick-snapshot',
    LaunchScratchFunctionArn: 'launch-scratch',
    CheckScratchReadyFunctionArn: 'check-scratch-ready',
    SendCommandFunctionArn: 'send-command',
    RecordVerificationFunctionArn: 'record-verification',
    TerminateScratchFunctionArn: 'terminate-scratch',
    PublishOutcomeFunctionArn: 'publish-outcome',
  },
  // a given snapshot, or (without key) the newest one no verification has judged yet
  input: baseInput.extend({ key: z.string().min(1).max(1024).optional() }),
  config: {
    key: 'restoreVerify',
    schema: (f) =>
      z
        .object({
          enabled: z.boolean().optional(),
          schedule: f.schedule.optional(),
          timeZone: f.timeZone.optional(),
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
          /** the IAM role (name or ARN) of the launch template's instance profile */
          instanceRole: z
            .string()
            .regex(
              /^(arn:aws(-[a-z]+)*:iam::\d{12}:role\/[\w+=,.@/-]{1,512}|[\w+=,.@-]{1,64})$/,
              'must be an IAM role name or ARN',
            )
            .optional(),
        })
        .strict(),
    resolve: (rv, c): RestoreVerifyConfig | undefined => {
      if (!rv) return undefined;
      if (c.kind === 'eks') {
        c.problems.push(`${c.at}.restoreVerify: EKS has no etcd snapshots to verify; remove this block`);
      }
      const backup = c.raw['backup'] as { timeZone?: string } | undefined;
      return {
        enabled: rv.enabled ?? true,
        schedule: rv.schedule ?? RESTORE_VERIFY_SCHEDULE_DEFAULT,
        timeZone: rv.timeZone ?? backup?.timeZone ?? 'UTC',
        launchTemplate: rv.launchTemplate,
        launchTemplateVersion: rv.launchTemplateVersion ?? '$Default',
        subnetId: rv.subnetId,
        instanceType: rv.instanceType,
        scratchTtlMinutes: rv.scratchTtlMinutes ?? 120,
        alarmAfterHours: rv.alarmAfterHours ?? 48,
        instanceRole: rv.instanceRole ?? `caretaker-scratch-${c.name}`,
      };
    },
  },
  schedule: (rv) => (rv?.enabled ? { expression: rv.schedule, timeZone: rv.timeZone } : undefined),
  // only clusters with a restoreVerify block can be verified; without one there is nothing to deploy
  deployedFor: (settings) => settings.some((rv) => rv !== undefined),
  outcome: {
    afterFailure: 'The scratch instance was terminated (the janitor removes it at its expiry otherwise).',
  },
  cli: {
    verb: 'restore-verify',
    summary: 'restore the newest snapshot into a scratch etcd and mark it verified',
    options: {
      key: {
        field: 'key',
        type: 'string',
        value: 'KEY',
        description: 'the snapshot to verify (default: the newest one not yet judged)',
      },
    },
  },
});
