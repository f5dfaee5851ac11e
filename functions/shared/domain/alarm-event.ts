import * as z from '../zod';
import { InvalidInputError } from '../errors';
import { parseInput } from './validation';

/**
 * The "CloudWatch Alarm State Change" event EventBridge delivers, in the three documented
 * shapes (docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/cloudwatch-and-eventbridge.html):
 * a single-metric alarm (`configuration.metrics[0].metricStat`), a metric-math alarm (an
 * `expression` entry plus the `metricStat` entries it reads) and a composite alarm
 * (`configuration.alarmRule`, the children that fired in `state.reasonData.triggeringAlarms`).
 * With tag propagation the detail also carries `alarmTags`. Samples: events/aws.cloudwatch/.
 */

const metricStat = z.object({
  metric: z.object({
    namespace: z.string().min(1),
    name: z.string().min(1),
    dimensions: z.record(z.string(), z.string()).optional(),
  }),
  period: z.number().optional(),
  stat: z.string().optional(),
});

const metricEntry = z.object({
  id: z.string().min(1),
  metricStat: metricStat.optional(),
  expression: z.string().optional(),
  label: z.string().optional(),
  returnData: z.boolean().optional(),
});

const alarmState = z.object({
  value: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
  reason: z.string().optional(),
  reasonData: z.string().optional(),
  timestamp: z.string().min(1),
});

export const alarmStateChangeEvent = z.object({
  id: z.string().min(1),
  'detail-type': z.literal('CloudWatch Alarm State Change'),
  source: z.literal('aws.cloudwatch'),
  account: z.string().regex(/^\d{12}$/, 'must be a 12-digit account id'),
  time: z.iso.datetime({ offset: true }),
  region: z.string().min(1),
  resources: z.array(z.string()).optional(),
  detail: z.object({
    alarmName: z.string().min(1).max(255),
    alarmTags: z.record(z.string(), z.string()).optional(),
    state: alarmState,
    previousState: alarmState.optional(),
    configuration: z.object({
      description: z.string().optional(),
      metrics: z.array(metricEntry).optional(),
      alarmRule: z.string().optional(),
    }),
  }),
});

export interface AlarmMetric {
  namespace: string;
  name: string;
  dimensions: Record<string, string>;
}

export interface AlarmEvent {
  /** the EventBridge event id: the same on a redelivery, so it names the execution */
  eventId: string;
  alarmName: string;
  region: string;
  account: string;
  time: string;
  state: 'OK' | 'ALARM' | 'INSUFFICIENT_DATA';
  kind: 'single-metric' | 'metric-math' | 'composite';
  /** every metric the alarm reads (a math alarm's inputs, none for a composite) */
  metrics: AlarmMetric[];
  /** composite only: the names of the child alarms that fired it */
  triggeringAlarms: string[];
  /** propagated alarm tags; empty without tag propagation */
  tags: Record<string, string>;
  reason: string;
}

const triggering = z.object({
  triggeringAlarms: z.array(z.object({ arn: z.string().regex(/:alarm:.+/, 'must be an alarm ARN') })),
});

/** `arn:aws:cloudwatch:eu-west-1:123456789012:alarm:name` → `name` */
export function alarmNameFromArn(arn: string): string {
  return arn.slice(arn.indexOf(':alarm:') + ':alarm:'.length);
}

/**
 * Parses an alarm state-change event of any documented shape.
 * @throws InvalidInputError naming the field when the event is not one of them
 */
export function parseAlarmEvent(raw: unknown): AlarmEvent {
  const event = parseInput(alarmStateChangeEvent, raw, 'alarm event');
  const { detail } = event;
  const config = detail.configuration;
  let kind: AlarmEvent['kind'];
  let metrics: AlarmMetric[] = [];
  let triggeringAlarms: string[] = [];
  if (config.alarmRule !== undefined) {
    kind = 'composite';
    if (detail.state.reasonData !== undefined && detail.state.value === 'ALARM') {
      let data: unknown;
      try {
        data = JSON.parse(detail.state.reasonData);
      } catch {
        data = undefined;
      }
      const parsed = parseInput(triggering, data, 'alarm event detail.state.reasonData');
      triggeringAlarms = parsed.triggeringAlarms.map((t) => alarmNameFromArn(t.arn));
    }
  } else {
    const entries = config.metrics ?? [];
    if (entries.length === 0) {
      const line = 'detail.configuration: neither metrics (a metric alarm) nor alarmRule (a composite alarm)';
      throw new InvalidInputError(`invalid alarm event: ${line}`, [line]);
    }
    for (const [i, entry] of entries.entries()) {
      if (!entry.metricStat && entry.expression === undefined) {
        const line = `detail.configuration.metrics[${i}]: needs a metricStat or an expression`;
        throw new InvalidInputError(`invalid alarm event: ${line}`, [line]);
      }
    }
    kind = entries.some((e) => e.expression !== undefined) ? 'metric-math' : 'single-metric';
    metrics = entries.flatMap((e) =>
      e.metricStat
        ? [
            {
              namespace: e.metricStat.metric.namespace,
              name: e.metricStat.metric.name,
              dimensions: e.metricStat.metric.dimensions ?? {},
            },
          ]
        : [],
    );
  }
  return {
    eventId: event.id,
    alarmName: detail.alarmName,
    region: event.region,
    account: event.account,
    time: event.time,
    state: detail.state.value,
    kind,
    metrics,
    triggeringAlarms,
    tags: detail.alarmTags ?? {},
    reason: detail.state.reason ?? '',
  };
}
