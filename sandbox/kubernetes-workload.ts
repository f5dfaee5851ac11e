/**
 * The workload the sandbox cluster starts with: what a platform engineer would recognise, and
 * what draining and patching have to respect. On the first worker it always has a pod of each
 * kind a drain treats differently:
 *
 * | namespace  | object                                   | on a drain of worker-1                      |
 * |------------|------------------------------------------|---------------------------------------------|
 * | payments   | Deployment payments-api, one pod per     | blocked: its PDB (minAvailable = replicas)   |
 * |            | worker, PDB allowing no disruption       | allows no eviction                           |
 * | shop       | Deployment storefront (3), PDB           | evicted one at a time                        |
 * |            | maxUnavailable 1                         |                                              |
 * | shop       | Deployment cart-cache, emptyDir /data,   | evicted with --delete-emptydir-data          |
 * |            | prefers worker-1                         |                                              |
 * | monitoring | DaemonSet node-exporter, every node      | stays (--ignore-daemonsets)                  |
 * | ops        | bare Pod toolbox on worker-1             | deleted only with --force, never recreated   |
 */
import { randomUUID } from 'node:crypto';
import type { EtcdCluster } from './etcd-cluster';
import type { KubeNode } from './kubernetes';

export const WORKLOAD = {
  noDisruption: { namespace: 'payments', deployment: 'payments-api' },
  oneAtATime: { namespace: 'shop', deployment: 'storefront', replicas: 3 },
  emptyDir: { namespace: 'shop', deployment: 'cart-cache' },
  daemonSet: { namespace: 'monitoring', name: 'node-exporter' },
  barePod: { namespace: 'ops', name: 'toolbox' },
} as const;

type Obj = Record<string, unknown>;

const list = (items: Obj[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

function container(name: string, image: string, extra: Obj = {}): Obj {
  return {
    name,
    image,
    resources: { requests: { cpu: '50m', memory: '64Mi' } },
    ...extra,
  };
}

function deployment(namespace: string, name: string, replicas: number, pod: Obj): Obj {
  const labels = { app: name };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace, labels },
    spec: {
      replicas,
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: pod },
    },
  };
}

function pdb(namespace: string, name: string, budget: Obj): Obj {
  return {
    apiVersion: 'policy/v1',
    kind: 'PodDisruptionBudget',
    metadata: { name, namespace },
    spec: { selector: { matchLabels: { app: name } }, ...budget },
  };
}

/**
 * The workload for `nodes` (at least one worker): namespaces and everything else as two kubectl
 * List documents (namespaces first: their default ServiceAccount must exist before a pod can be
 * created), and how many pods it makes once everything runs.
 * @throws Error when there is no worker.
 */
export function workloadManifest(nodes: readonly KubeNode[]): {
  namespaces: string;
  objects: string;
  expectedPods: number;
} {
  const workers = nodes.filter((n) => n.role === 'worker');
  const first = workers[0];
  if (!first) throw new Error('the seeded workload needs at least one worker');
  const { noDisruption, oneAtATime, emptyDir, daemonSet, barePod } = WORKLOAD;
  const namespaces = [noDisruption.namespace, oneAtATime.namespace, daemonSet.namespace, barePod.namespace];

  const objects: Obj[] = [
    deployment(noDisruption.namespace, noDisruption.deployment, workers.length, {
      // one per worker, so every worker holds a pod the budget protects
      affinity: {
        podAntiAffinity: {
          requiredDuringSchedulingIgnoredDuringExecution: [
            {
              labelSelector: { matchLabels: { app: noDisruption.deployment } },
              topologyKey: 'kubernetes.io/hostname',
            },
          ],
        },
      },
      containers: [container('api', 'ghcr.io/example/payments-api:2.4.1')],
    }),
    pdb(noDisruption.namespace, noDisruption.deployment, { minAvailable: workers.length }),
    deployment(oneAtATime.namespace, oneAtATime.deployment, oneAtATime.replicas, {
      topologySpreadConstraints: [
        {
          maxSkew: 1,
          topologyKey: 'kubernetes.io/hostname',
          whenUnsatisfiable: 'ScheduleAnyway',
          labelSelector: { matchLabels: { app: oneAtATime.deployment } },
        },
      ],
      containers: [container('web', 'nginx:1.27')],
    }),
    pdb(oneAtATime.namespace, oneAtATime.deployment, { maxUnavailable: 1 }),
    deployment(emptyDir.namespace, emptyDir.deployment, 1, {
      affinity: {
        nodeAffinity: {
          preferredDuringSchedulingIgnoredDuringExecution: [
            {
              weight: 100,
              preference: {
                matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [first.name] }],
              },
            },
          ],
        },
      },
      containers: [container('redis', 'redis:7.4', { volumeMounts: [{ name: 'data', mountPath: '/data' }] })],
      volumes: [{ name: 'data', emptyDir: {} }],
    }),
    {
      apiVersion: 'apps/v1',
      kind: 'DaemonSet',
      metadata: { name: daemonSet.name, namespace: daemonSet.namespace, labels: { app: daemonSet.name } },
      spec: {
        selector: { matchLabels: { app: daemonSet.name } },
        template: {
          metadata: { labels: { app: daemonSet.name } },
          spec: {
            // on control-plane nodes too, as node agents are
            tolerations: [{ operator: 'Exists' }],
            containers: [container('node-exporter', 'quay.io/prometheus/node-exporter:v1.9.1')],
          },
        },
      },
    },
    {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: barePod.name, namespace: barePod.namespace, labels: { app: barePod.name } },
      spec: {
        nodeName: first.name,
        containers: [container('shell', 'busybox:1.37', { command: ['sleep', 'infinity'] })],
      },
    },
  ];

  return {
    namespaces: list(namespaces.map((name) => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }))),
    objects: list(objects),
    expectedPods: workers.length + oneAtATime.replicas + 1 + nodes.length + 1,
  };
}

/** the namespace of the filler ConfigMaps: database size without touching the workload */
export const FILLER_NAMESPACE = 'caretaker-filler';

/**
 * Writes `count` ConfigMaps of `valueBytes` each (and their namespace) straight into etcd, as the
 * API server stores them (JSON is one of the encodings it reads), in transactions of up to 1000
 * puts. Run it before the API servers start, so they load the objects like any other; keys ×
 * bytes ≈ the database size, as the plain etcd sandbox's `keys` option promises.
 * @returns the keys written per /registry resource
 */
export async function seedFiller(
  etcd: EtcdCluster,
  count: number,
  valueBytes: number,
): Promise<Record<string, number>> {
  const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
  const meta = (name: string, namespace?: string) => ({
    name,
    ...(namespace ? { namespace } : {}),
    uid: randomUUID(),
    creationTimestamp: now,
  });
  const puts: string[] = [
    put(`/registry/namespaces/${FILLER_NAMESPACE}`, {
      kind: 'Namespace',
      apiVersion: 'v1',
      metadata: meta(FILLER_NAMESPACE),
      spec: { finalizers: ['kubernetes'] },
      status: { phase: 'Active' },
    }),
  ];
  const value = 'v'.repeat(valueBytes);
  for (let i = 0; i < count; i++) {
    const name = `filler-${String(i).padStart(7, '0')}`;
    puts.push(
      put(`/registry/configmaps/${FILLER_NAMESPACE}/${name}`, {
        kind: 'ConfigMap',
        apiVersion: 'v1',
        metadata: meta(name, FILLER_NAMESPACE),
        data: { value },
      }),
    );
  }
  const client = etcd.client();
  for (let i = 0; i < puts.length; i += 3000) {
    await Promise.all(
      [0, 1000, 2000]
        .map((o) => puts.slice(i + o, Math.min(i + o + 1000, i + 3000)))
        .filter((batch) => batch.length > 0)
        // txn from stdin: compares, blank line, success ops, blank line, failure ops, blank line
        .map((batch) => client.run(['txn'], `\n${batch.join('\n')}\n\n\n`, 120)),
    );
  }
  return { configmaps: count, namespaces: 1 };
}

/** one `put` line of an etcdctl txn; the value double-quoted, as etcdctl unquotes it (Go %q) */
function put(key: string, object: Obj): string {
  return `put ${key} ${JSON.stringify(JSON.stringify(object))}`;
}
