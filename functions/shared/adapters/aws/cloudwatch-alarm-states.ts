import { CloudWatchClient, paginateDescribeAlarms } from '@aws-sdk/client-cloudwatch';
import type { AlarmStates } from '../../ports';
import { rethrowTransient } from './transient';

/** DescribeAlarms takes at most 100 alarm names per call */
const NAMES_PER_CALL = 100;

/** CloudWatch alarms (metric and composite) by name: which are in ALARM now */
export function cloudWatchAlarmStates(client = new CloudWatchClient({})): AlarmStates {
  return {
    async inAlarm(names) {
      const alarming: string[] = [];
      try {
        for (let at = 0; at < names.length; at += NAMES_PER_CALL) {
          const pages = paginateDescribeAlarms(
            { client },
            {
              AlarmNames: names.slice(at, at + NAMES_PER_CALL),
              AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
              StateValue: 'ALARM',
            },
          );
          for await (const page of pages) {
            for (const a of [...(page.MetricAlarms ?? []), ...(page.CompositeAlarms ?? [])]) {
              if (a.AlarmName) alarming.push(a.AlarmName);
            }
          }
        }
      } catch (e) {
        rethrowTransient(e);
      }
      return alarming.sort();
    },
  };
}
