import * as z from '../zod';
import {
  REMEDIATION_DEFAULTS,
  ROUTE_INFO,
  ROUTES,
  type RemediationSettings,
  type RouteName,
  type RouteSettings,
} from '../domain/remediation';
import { instanceId } from '../domain/schemas';
import { baseInput, defineWorkflow } from './workflow';

const routeBlock = (count: (max: number) => z.ZodType<number, number>) =>
  z
    .object({
      enabled: z.boolean().optional(),
      dryRun: z.boolean().optional(),
      cooldownMinutes: count(10_080).optional(),
      maxAttemptsPerDay: count(100).optional(),
    })
    .strict();

/** alarm → runbook, with cooldown, attempts per day, dry run and escalation */
export const remediate = defineWorkflow({
  name: 'remediate',
  summary:
    'route a CloudWatch alarm to its runbook (etcd defragment, member restart, backup now, disk cleanup, NotReady node reboot and replacement) under cooldown, attempt limits, the lock and escalation',
  comment:
    'Caretaker remediation: claim an attempt, take the lock the route needs, run the runbook the alarm names, report or escalate, unlock',
  needsEtcd: false,
  substitutions: {
    ClaimAttemptFunctionArn: 'claim-attempt',
    AcquireLockFunctionArn: 'acquire-lock',
    ReleaseLockFunctionArn: 'release-lock',
    FindControlPlaneFunctionArn: 'find-control-plane',
    SendCommandFunctionArn: 'send-command',
    PlanRemediationFunctionArn: 'plan-remediation',
    PublishOutcomeFunctionArn: 'publish-outcome',
    EtcdBackupStateMachineArn: 'etcd-backup',
    PlanNodeRemediationFunctionArn: 'plan-node-remediation',
    RecoverNodeFunctionArn: 'recover-node',
  },
  input: baseInput.extend({
    route: z.enum(ROUTES),
    alarmName: z.string().min(1).max(255),
    /** when the alarm went to ALARM */
    alarmTime: z.iso.datetime({ offset: true }),
    /** from the alarm's dimensions, when it names one */
    instanceId: instanceId.optional(),
    member: z
      .string()
      .regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be a member name or id')
      .optional(),
    node: z
      .string()
      .regex(/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/, 'must be a Node name')
      .optional(),
    dryRun: z.boolean().optional(),
  }),
  config: {
    key: 'remediation',
    schema: (f) =>
      z
        .object({
          enabled: z.boolean().optional(),
          dryRun: z.boolean().optional(),
          routes: z
            .object({
              'etcd-db-size': routeBlock(f.count).optional(),
              'etcd-member-unhealthy': routeBlock(f.count).optional(),
              'node-notready': routeBlock(f.count).optional(),
              'stale-backup': routeBlock(f.count).optional(),
              'disk-pressure': routeBlock(f.count).optional(),
            })
            .strict()
            .optional(),
          alarms: z
            .array(
              z
                .object({
                  namePrefix: z.string().min(1).max(255).optional(),
                  tag: z
                    .object({ key: z.string().min(1).max(128), value: z.string().max(256) })
                    .strict()
                    .optional(),
                  route: z.enum(ROUTES),
                })
                .strict(),
            )
            .optional(),
          maxNodesAtOnce: f.count(50).optional(),
          maxUnhealthyPercent: f.count(100).optional(),
          readyTimeoutMinutes: f.count(240).optional(),
          drainTimeoutSeconds: f.count(3600).optional(),
        })
        .strict(),
    resolve: (block, c): RemediationSettings | undefined => {
      if (!block) return undefined;
      const enabled = block.enabled ?? true;
      for (const [i, a] of (block.alarms ?? []).entries()) {
        if (a.namePrefix === undefined && a.tag === undefined) {
          c.problems.push(
            `${c.at}.remediation.alarms[${i}]: give a namePrefix, a tag or both (else every alarm would match)`,
          );
        }
      }
      if (c.kind === 'eks') {
        for (const r of ['etcd-db-size', 'etcd-member-unhealthy', 'stale-backup'] as const) {
          if (block.routes?.[r]?.enabled) {
            c.problems.push(`${c.at}.remediation.routes.${r}.enabled: not possible on EKS (AWS owns etcd)`);
          }
        }
      }
      if (block.maxNodesAtOnce === 0) {
        c.problems.push(
          `${c.at}.remediation.maxNodesAtOnce: must be at least 1 (switch the route off instead)`,
        );
      }
      const routes = Object.fromEntries(
        ROUTES.map((r): [RouteName, RouteSettings] => {
          const given = block.routes?.[r];
          const d = ROUTE_INFO[r].defaults;
          const etcdRoute = r.startsWith('etcd-') || r === 'stale-backup';
          return [
            r,
            {
              enabled: given?.enabled ?? (c.kind === 'eks' && etcdRoute ? false : d.enabled),
              dryRun: given?.dryRun ?? block.dryRun ?? d.dryRun,
              cooldownMinutes: given?.cooldownMinutes ?? d.cooldownMinutes,
              maxAttemptsPerDay: given?.maxAttemptsPerDay ?? d.maxAttemptsPerDay,
            },
          ];
        }),
      ) as Record<RouteName, RouteSettings>;
      return {
        enabled,
        routes,
        alarms: (block.alarms ?? []).map((a) => ({
          route: a.route,
          ...(a.namePrefix !== undefined && { namePrefix: a.namePrefix }),
          ...(a.tag !== undefined && { tag: a.tag }),
        })),
        maxNodesAtOnce: block.maxNodesAtOnce ?? REMEDIATION_DEFAULTS.maxNodesAtOnce,
        maxUnhealthyPercent: block.maxUnhealthyPercent ?? REMEDIATION_DEFAULTS.maxUnhealthyPercent,
        readyTimeoutMinutes: block.readyTimeoutMinutes ?? REMEDIATION_DEFAULTS.readyTimeoutMinutes,
        drainTimeoutSeconds: block.drainTimeoutSeconds ?? REMEDIATION_DEFAULTS.drainTimeoutSeconds,
      };
    },
  },
  // started by alarms, never by a schedule
  schedule: () => undefined,
  deployedFor: (settings) => settings.some((s) => s?.enabled === true),
  outcome: {
    afterFailure:
      'The remediation stopped where it failed and released its lock; members already defragmented or restarted stay so, nothing else was changed. Follow docs/runbooks/remediate.md.',
  },
});
