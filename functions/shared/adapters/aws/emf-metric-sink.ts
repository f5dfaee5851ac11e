import { isPublishedMetric, METRICS, METRICS_NAMESPACE } from '../../domain/metrics';
import type { Clock, MetricSink } from '../../ports';

/**
 * Figures as one embedded-metric-format line on stdout: no API call, no IAM. Only the names in
 * the metrics catalog (domain/metrics.ts) become CloudWatch metrics, each with the catalog's
 * dimensions; every other figure (snapshot size, RTO, durations) is a plain field of the same
 * log line, which Logs Insights (and the dashboard's log widgets) read at no per-metric cost.
 * @throws Error when a catalogued metric is recorded without one of its dimensions (a bug)
 */
export function emfMetricSink(
  write: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
  clock: Clock = { now: () => new Date() },
): MetricSink {
  return {
    async record(dimensions, values) {
      const groups = new Map<string, { dims: string[]; metrics: { Name: string; Unit: string }[] }>();
      const fields: Record<string, unknown> = { ...dimensions };
      for (const [name, { value, unit }] of Object.entries(values)) {
        fields[name] = value;
        if (!isPublishedMetric(name)) continue;
        const def = METRICS[name]!;
        const missing = def.dimensions.filter((d) => dimensions[d] === undefined);
        if (missing.length > 0) throw new Error(`metric ${name} needs dimension(s) ${missing.join(', ')}`);
        const key = def.dimensions.join(',');
        const group = groups.get(key) ?? { dims: [...def.dimensions], metrics: [] };
        group.metrics.push({ Name: name, Unit: def.unit === unit ? unit : def.unit });
        groups.set(key, group);
      }
      const line = {
        _aws: {
          Timestamp: clock.now().getTime(),
          CloudWatchMetrics: [...groups.values()].map((g) => ({
            Namespace: METRICS_NAMESPACE,
            Dimensions: [g.dims],
            Metrics: g.metrics,
          })),
        },
        ...fields,
      };
      write(JSON.stringify(line));
    },
  };
}
