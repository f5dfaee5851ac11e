import { windowOpenFor } from '../shared/domain/patching/window';
import type { AlarmStates, Clock } from '../shared/ports';

export interface CheckPatchGateDeps {
  alarms: AlarmStates;
  clock: Clock;
}

export interface CheckPatchGateInput {
  cluster: string;
  /** when this run's window ends */
  windowEnd: string;
  /** how much window a node needs */
  nodeMinutes: number;
  /** CloudWatch alarms that must not be in ALARM */
  alarms: string[];
}

/**
 * May the next node start now? Only while the window has room for a whole node and no blocker
 * alarm is in ALARM. Asked right before each node's cordon, so a window that closes or an alarm
 * that fires mid-run stops new nodes while the ones in flight finish.
 */
export async function checkPatchGate(input: CheckPatchGateInput, deps: CheckPatchGateDeps) {
  const now = deps.clock.now();
  // the node's duration counts from this check
  const checkedAt = now.toISOString();
  if (!windowOpenFor(new Date(input.windowEnd), now, input.nodeMinutes)) {
    return {
      open: false,
      checkedAt,
      reason: `the maintenance window ends at ${input.windowEnd}, too soon for a node that takes ${input.nodeMinutes} minutes`,
    };
  }
  const alarming = input.alarms.length > 0 ? await deps.alarms.inAlarm(input.alarms) : [];
  if (alarming.length > 0) {
    return { open: false, checkedAt, reason: `blocker alarm(s) in ALARM: ${alarming.join(', ')}` };
  }
  return { open: true, checkedAt };
}
