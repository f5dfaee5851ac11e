import * as z from '../../zod';
import { instanceId } from '../schemas';
import { etcdAccessParameters, etcdOf } from './etcd-access';
import { API_SERVER_PORTS } from './control-plane-check';
import { defineCommand } from './spec';

export const probeMember = z.object({
  endpoint: z.string(),
  memberId: z.string(),
  healthy: z.boolean(),
  isLeader: z.boolean(),
  dbSize: z.number().int().nonnegative(),
  dbSizeInUse: z.number().int().nonnegative(),
  raftTerm: z.number().int().nonnegative(),
  errors: z.string(),
});

export const probeResult = z.object({
  instanceId,
  etcd: z.object({
    error: z.string(),
    membersTotal: z.number().int().nonnegative(),
    members: z.array(probeMember),
    alarms: z.array(z.string()),
  }),
  kubernetes: z
    .object({
      error: z.string(),
      nodesTotal: z.number().int().nonnegative(),
      notReady: z.array(z.string()),
      diskPressure: z.array(z.string()),
      apiServers: z.array(z.object({ node: z.string(), address: z.string(), ready: z.boolean() })),
      /** every worker Node and node-record's caretaker.io/patched-at on it ('' when never) */
      workers: z.array(z.object({ node: z.string(), patchedAt: z.string() })).default([]),
    })
    .nullable(),
});
export type ProbeResult = z.output<typeof probeResult>;

/**
 * Read-only health of the whole cluster from one control-plane node (etcd members, alarms, API
 * servers, Nodes). The health-probe Lambda sends it every probe interval and waits for it
 * itself (it is done in seconds), instead of parking a task token.
 */
export const healthProbe = defineCommand({
  name: 'health-probe',
  target: 'control-plane',
  subject: 'self',
  needs: ['etcd'],
  args: z.object({}).strict(),
  result: probeResult,
  executionTimeoutSeconds: 60,
  // the probe runs again in minutes: a node that cannot take it now is a finding, not a wait
  deliveryTimeoutSeconds: 30,
  parameters: (cluster) => ({
    ...etcdAccessParameters(etcdOf(cluster)),
    Kubeconfig: cluster.kubernetes?.kubeconfig ?? 'none',
    // kops' API servers listen on 443, kubeadm's and Kubespray's on 6443
    ApiServerPort: String(cluster.kind === 'eks' ? 443 : API_SERVER_PORTS[cluster.kind]),
  }),
});
