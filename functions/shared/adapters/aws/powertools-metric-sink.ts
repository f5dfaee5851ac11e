import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import type { MetricSink } from '../../ports';

type Unit = (typeof MetricUnit)[keyof typeof MetricUnit];

/** CloudWatch metrics as embedded metric format on stdout: no API call, no IAM */
export function powertoolsMetricSink(
  metrics = new Metrics({ namespace: process.env.POWERTOOLS_METRICS_NAMESPACE ?? 'Caretaker' }),
): MetricSink {
  return {
    async record(dimensions, values) {
      metrics.addDimensions(dimensions);
      for (const [name, { value, unit }] of Object.entries(values)) {
        metrics.addMetric(name, unit as Unit, value);
      }
      metrics.publishStoredMetrics();
    },
  };
}
