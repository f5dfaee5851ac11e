import type { ClusterConfig } from '../functions/shared/domain/config';
import { ClusterNotFoundError, InvalidInputError } from '../functions/shared/errors';
import type {
  AlarmStates,
  ClusterDirectory,
  InstanceTagger,
  MetricSink,
  Notifier,
} from '../functions/shared/ports';

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

/** CloudWatch alarms in the sandbox: the names put in `alarming` are in ALARM */
export function memoryAlarms(): AlarmStates & { alarming: Set<string> } {
  const alarming = new Set<string>();
  return { alarming, inAlarm: async (names) => names.filter((n) => alarming.has(n)) };
}

/** EC2 tags in the sandbox: what record-patch tagged, by instance (only the cluster's own) */
export function memoryTagger(
  owns: (cluster: string, instanceId: string) => boolean,
): InstanceTagger & { tags: Map<string, Record<string, string>> } {
  const tags = new Map<string, Record<string, string>>();
  return {
    tags,
    async tag(cluster, instanceId, values) {
      if (!owns(cluster, instanceId)) {
        throw new InvalidInputError(`instanceId: ${instanceId} does not carry caretaker:cluster=${cluster}`);
      }
      tags.set(instanceId, { ...tags.get(instanceId), ...values });
    },
  };
}
