import type { WorkflowStarter } from '../shared/adapters/aws/sfn-workflow-starter';
import { parseAlarmEvent } from '../shared/domain/alarm-event';
import { executionName } from '../shared/domain/execution-name';
import { routeAlarm } from '../shared/domain/remediation';
import type { ClusterConfig } from '../shared/domain/config';
import { remediate } from '../shared/workflows/remediate';
import { parseInput } from '../shared/domain/validation';

export interface RouteAlarmDeps {
  /** every cluster this deployment manages, resolved */
  clusters: () => Promise<ClusterConfig[]>;
  starter: WorkflowStarter;
  /** the remediate state machine's ARN */
  stateMachineArn: string;
  log: (message: string, fields: Record<string, unknown>) => void;
}

/**
 * The edge of remediation: an alarm state change from EventBridge. A malformed event is
 * rejected with an InvalidInputError naming the field (nothing starts); an alarm no route names,
 * or any state but ALARM, is ignored quietly (one log line); a routed one starts the remediate
 * workflow under a name derived from the event id, so a redelivered event starts nothing new.
 * @throws InvalidInputError for a malformed event
 */
export async function routeAlarmEvent(event: unknown, deps: RouteAlarmDeps) {
  const alarm = parseAlarmEvent(event);
  const decision = routeAlarm(alarm, await deps.clusters());
  if (decision.action === 'ignore') {
    deps.log('alarm ignored', { alarmName: alarm.alarmName, reason: decision.reason });
    return { started: false as const, reason: decision.reason };
  }
  const input = parseInput(
    remediate.input,
    {
      cluster: decision.cluster,
      route: decision.route,
      alarmName: alarm.alarmName,
      alarmTime: alarm.time,
      requestedBy: 'alarm',
      requestId: alarm.eventId,
      dryRun: decision.settings.dryRun,
      ...(decision.instanceId !== undefined && { instanceId: decision.instanceId }),
      ...(decision.member !== undefined && { member: decision.member }),
      ...(decision.node !== undefined && { node: decision.node }),
    },
    'remediate input',
  );
  const name = executionName(remediate.name, decision.cluster, new Date(alarm.time), alarm.eventId);
  const started = await deps.starter.start(deps.stateMachineArn, name, input);
  deps.log('remediation started', { alarmName: alarm.alarmName, route: decision.route, name });
  return { started: true as const, name, route: decision.route, cluster: decision.cluster, ...started };
}
