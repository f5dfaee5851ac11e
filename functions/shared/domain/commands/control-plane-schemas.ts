import * as z from '../../zod';
import { instanceId } from '../schemas';

/** a Kubernetes release as a target: v1.37.2 (checked again by the document's allowedPattern) */
export const releaseVersion = z
  .string()
  .regex(/^v\d{1,3}\.\d{1,3}\.\d{1,4}$/, 'must be a Kubernetes release such as v1.37.2');

/** control-plane-upgrade's CARETAKER_RESULT */
export const controlPlaneUpgradeResult = z.object({
  instanceId,
  phase: z.enum(['plan', 'inventory', 'apply', 'node']),
  /** empty for an inventory without a target (patch-control-plane) */
  version: releaseVersion.or(z.literal('')),
  /** the kubeadm command run: `kubeadm upgrade apply v1.37.2 --yes`, `kubeadm upgrade node`, `kubeadm upgrade plan v1.37.2`; empty for inventory */
  kubeadm: z.string(),
  /** plan: kubeadm's report, clipped to its first 3000 characters */
  planOutput: z.string().optional(),
  /** plan: what kubeadm on this node reports (`v1.36.4`) */
  kubeadmVersion: z.string().optional(),
  /** plan: the image each control-plane node's kube-apiserver static pod runs */
  apiServers: z.array(z.object({ node: z.string(), image: z.string() })).optional(),
  /** plan: every Node, as the API server reports it */
  nodes: z
    .array(
      z.object({
        name: z.string(),
        providerID: z.string(),
        ready: z.boolean(),
        kubeletVersion: z.string(),
        controlPlane: z.boolean(),
      }),
    )
    .optional(),
  /** plan: whether the package repository offers kubeadm at the target */
  packageAvailable: z.boolean().optional(),
  /** apply/node: the packages installed (`kubelet=1.37.2-*`) */
  packages: z.array(z.string()).optional(),
  kubeletRestarted: z.boolean().optional(),
});
export type ControlPlaneUpgradeResult = z.infer<typeof controlPlaneUpgradeResult>;

/** control-plane-check's CARETAKER_RESULT */
export const controlPlaneCheckResult = z.object({
  instanceId,
  node: z.string(),
  /** the version the node must run; empty: versions are not checked (the gate before a node) */
  version: z.string().default(''),
  apiServerReady: z.boolean(),
  apiServerDetail: z.string().default(''),
  nodeExists: z.boolean(),
  nodeReady: z.boolean(),
  kubeletVersion: z.string().default(''),
  /** the node's static (mirror) pods of tier=control-plane */
  staticPods: z.array(z.object({ name: z.string(), image: z.string(), ready: z.boolean() })).default([]),
  /** every control-plane Node: is it Ready, is it cordoned */
  controlPlaneNodes: z
    .array(z.object({ name: z.string(), ready: z.boolean(), unschedulable: z.boolean() }))
    .default([]),
  /** `etcdctl endpoint health --cluster`, one entry per member */
  etcdMembers: z.array(
    z.object({ endpoint: z.string(), healthy: z.boolean(), detail: z.string().default('') }),
  ),
  /** `etcdctl member list`: how many members there are (one that does not answer health is still counted) */
  etcdMemberCount: z.number().int().nonnegative(),
});
export type ControlPlaneCheckResult = z.infer<typeof controlPlaneCheckResult>;

/** etcd-move-leader's CARETAKER_RESULT */
export const moveLeaderResult = z.object({
  instanceId,
  memberId: z.string(),
  wasLeader: z.boolean(),
  /** the member leadership moved to (hex id), when it moved */
  movedTo: z.string().default(''),
  leaderAfter: z.string(),
});
