/**
 * The one list of CloudWatch metrics Caretaker publishes: namespace, names, units and
 * dimensions. The code that publishes (the health probe, publish-outcome, record-verification)
 * and the infra that reads (alarms, the dashboard) both import it, and a contract test checks
 * that they agree in both directions.
 *
 * Cost decides what is here. A custom metric costs about $0.30 a month per name and dimension
 * set, so every metric is per cluster (dimension `cluster` only) and earns its place by an
 * alarm reading it. Figures that are only looked at (snapshot size, revision, RTO, the
 * duration of a run, the DB size in use, which member or node is unwell) stay fields of the
 * embedded-metric-format log line and reach the dashboard through Logs Insights widgets, at no
 * per-metric cost. See docs/runbooks/remediate.md and `npm run bench -- --only cost`.
 *
 * No AWS or CDK imports: Lambdas bundle this module.
 */

export const METRICS_NAMESPACE = 'Caretaker';

export type MetricUnit = 'Count' | 'Bytes' | 'Seconds' | 'Milliseconds' | 'Percent' | 'None';

export interface MetricDefinition {
  name: string;
  unit: MetricUnit;
  /** the dimension names, in order; every Caretaker metric is per cluster */
  dimensions: readonly string[];
  /** who publishes it (a function folder) */
  publishedBy: string;
  /** what it measures, for docs and alarm descriptions */
  description: string;
}

/** the probe's metrics, published every probe interval (default 5 minutes) per cluster */
export const HEALTH_METRICS = {
  EtcdMembersUnhealthy: {
    name: 'EtcdMembersUnhealthy',
    unit: 'Count',
    dimensions: ['cluster'],
    publishedBy: 'health-probe',
    description:
      'etcd members that failed endpoint health or report errors, or that the probe could not reach',
  },
  EtcdDbUsedPercent: {
    name: 'EtcdDbUsedPercent',
    unit: 'Percent',
    dimensions: ['cluster'],
    publishedBy: 'health-probe',
    description: 'the largest member database file, in percent of the backend quota',
  },
  EtcdRaftTerm: {
    name: 'EtcdRaftTerm',
    unit: 'Count',
    dimensions: ['cluster'],
    publishedBy: 'health-probe',
    description: 'the raft term (it grows by one per election): leader changes are its DIFF',
  },
  EtcdAlarmsRaised: {
    name: 'EtcdAlarmsRaised',
    unit: 'Count',
    dimensions: ['cluster'],
    publishedBy: 'health-probe',
    description: 'etcd alarms raised (NOSPACE, CORRUPT); which ones is in the log line',
  },
  ApiServersNotReady: {
    name: 'ApiServersNotReady',
    unit: 'Count',
    dimensions: ['cluster'],
    publishedBy: 'health-probe',
    description:
      'control-plane nodes whose kube-apiserver /readyz did not answer ok (at least 1 when the API does not answer through the kubeconfig at all)',
  },
  NodesNotReady: {
    name: 'NodesNotReady',
    unit: 'Count',
    dimensions: ['cluster'],
    publishedBy: 'health-probe',
    description: 'Nodes whose Ready condition is not True',
  },
  SnapshotAgeSeconds: {
    name: 'SnapshotAgeSeconds',
    unit: 'Seconds',
    dimensions: ['cluster'],
    publishedBy: 'health-probe',
    description: 'age of the newest snapshot in S3',
  },
  VerifiedSnapshotAgeSeconds: {
    name: 'VerifiedSnapshotAgeSeconds',
    unit: 'Seconds',
    dimensions: ['cluster'],
    publishedBy: 'health-probe',
    description: 'age of the newest snapshot a restore verified',
  },
} as const satisfies Record<string, MetricDefinition>;

export type HealthMetricName = keyof typeof HEALTH_METRICS;

/** every custom metric Caretaker publishes, by name */
export const METRICS: Readonly<Record<string, MetricDefinition>> = { ...HEALTH_METRICS };

/** a metric name is published as a metric only when it is listed; anything else is a log field */
export function isPublishedMetric(name: string): boolean {
  return Object.hasOwn(METRICS, name);
}

/** custom metrics per cluster, for the cost model */
export function metricsPerCluster(): number {
  return Object.keys(METRICS).length;
}
