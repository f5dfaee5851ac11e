import type { ClusterConfig } from '../functions/shared/domain/config';
import { ClusterNotFoundError } from '../functions/shared/errors';
import type { ClusterDirectory, MetricSink, Notifier } from '../functions/shared/ports';

/** the clusters of the sandbox's own configuration, where AWS would read Parameter Store */
export function configDirectory(clusters: readonly ClusterConfig[]): ClusterDirectory {
  return {
    async get(name) {
      const c = clusters.find((x) => x.name === name);
      if (!c) throw new ClusterNotFoundError(`cluster "${name}" is not configured in the sandbox`);
      return c;
    },
  };
}

export interface Notification {
  subject: string;
  message: string;
  attributes: Record<string, string>;
}

/** SNS in the sandbox: the messages are kept for the report */
export function memoryNotifier(): Notifier & { messages: Notification[] } {
  const messages: Notification[] = [];
  return {
    messages,
    async publish(subject, message, attributes) {
      messages.push({ subject, message, attributes });
    },
  };
}

/** CloudWatch in the sandbox: the datapoints are kept for the report */
export function memoryMetrics(): MetricSink & { records: Parameters<MetricSink['record']>[] } {
  const records: Parameters<MetricSink['record']>[] = [];
  return {
    records,
    async record(dimensions, values) {
      records.push([dimensions, values]);
    },
  };
}
