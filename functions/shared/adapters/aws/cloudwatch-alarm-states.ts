import { CloudWatchClient, paginateDescribeAlarms } from '@aws-sdk/client-cloudwatch';
import type { AlarmStates } from '../../ports';
import { rethrowTransient } from './transient';

/** DescribeAlarms takes at most 100 names per call */
const NAMES_PER_CALL = 100;

/** CloudWatch DescribeAlarms by name: metric and composite alarms */
export function cloudWatchAlarmStates(client = new CloudWatchClient({})): AlarmStates {
  return {
    async states(names) {
      const found: { name: string; state: string; reason?: string }[] = [];
      try {
        for (let at = 0; at < names.length; at += NAMES_PER_CALL) {
          const pages = paginateDescribeAlarms(
            { client },
            {
              AlarmNames: names.slice(at, at + NAMES_PER_CALL),
              AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
            },
          );
          for await (const page of pages) {
            for (const a of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
              if (a.AlarmName)
                found.push({
                  name: a.AlarmName,
                  state: a.StateValue ?? 'INSUFFICIENT_DATA',
                  reason: a.StateReason,
                });
            }
          }
        }
      } catch (e) {
        rethrowTransient(e);
      }
      return found;
    },
  };
}
