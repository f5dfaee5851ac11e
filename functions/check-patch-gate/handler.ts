import * as z from '../shared/zod';
import { cloudWatchAlarmStates } from '../shared/adapters/aws/cloudwatch-alarm-states';
import { clusterName, isoTime } from '../shared/domain/schemas';
import { createHandler, type DepsSource } from '../shared/handler';
import { checkPatchGate, type CheckPatchGateDeps } from './service';

export const input = z.object({
  cluster: clusterName,
  windowEnd: isoTime,
  nodeMinutes: z.number().int().min(0).max(1440),
  alarms: z.array(z.string().min(1).max(255)).max(100),
});

export const makeHandler = (deps: DepsSource<CheckPatchGateDeps>) =>
  createHandler({ name: 'check-patch-gate', input, run: checkPatchGate }, deps);

export const handler = makeHandler(() => ({
  alarms: cloudWatchAlarmStates(),
  clock: { now: () => new Date() },
}));
