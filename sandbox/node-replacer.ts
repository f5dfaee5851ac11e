/**
 * EC2 and Auto Scaling as node-notready's NodeReplacer sees them, played on the LocalFleet and
 * the sandbox's real Kubernetes API server: RebootInstances reboots the fleet's machine (its
 * Node goes NotReady and, once the machine is back, Ready with a new boot id: followReboots);
 * TerminateInstanceInAutoScalingGroup terminates the machine, deletes its Node (the cloud
 * node-lifecycle controller's job) and launches a replacement that registers a new Node, which
 * KWOK then plays Ready. Every call is recorded as the SDK would send it.
 */
import { CLUSTER_TAG } from '../functions/shared/domain/config';
import { InvalidInputError } from '../functions/shared/errors';
import type { NodeReplacer } from '../functions/shared/ports';
import type { KubernetesCluster } from './kubernetes';
import { nodesManifest } from './kubernetes';
import type { LocalFleet } from './local-fleet';

/** the Auto Scaling group the sandbox's workers belong to, unless a test takes one out */
export const SANDBOX_WORKER_GROUP = 'caretaker-sandbox-workers';

export class SandboxNodeReplacer implements NodeReplacer {
  /** the calls as EC2 / Auto Scaling would get them, in order */
  readonly calls: string[] = [];
  /** which group owns each instance (the Auto Scaling stand-in); empty for an instance of none */
  readonly groups = new Map<string, string>();
  /** the instances the groups launched as replacements, in order */
  readonly launched: { instanceId: string; node: string; group: string; replaces: string }[] = [];

  constructor(
    private readonly fleet: LocalFleet,
    private readonly kubernetes: () => KubernetesCluster | undefined,
  ) {
    for (const n of fleet.nodes.values()) {
      if (n.role === 'worker') this.groups.set(n.instanceId, SANDBOX_WORKER_GROUP);
    }
  }

  private mustBeOurs(cluster: string, instanceId: string) {
    const node = this.fleet.nodes.get(instanceId);
    if (!node || node.tags[CLUSTER_TAG] !== cluster) {
      throw new InvalidInputError(`instanceId: ${instanceId} does not carry ${CLUSTER_TAG}=${cluster}`);
    }
    return node;
  }

  async reboot(cluster: string, instanceId: string): Promise<void> {
    this.mustBeOurs(cluster, instanceId);
    this.calls.push(`RebootInstances InstanceIds=${instanceId}`);
    // RebootInstances returns at once; the machine goes down and comes back on its own
    // (a machine already rebooting just goes on rebooting, as EC2 accepts the call)
    if (this.fleet.node(instanceId).rebooting) return;
    void this.fleet.reboot(instanceId).catch((e: unknown) => {
      process.stderr.write(`sandbox: reboot of ${instanceId}: ${String(e)}\n`);
    });
  }

  async replace(cluster: string, instanceId: string): Promise<{ replaced: boolean; group?: string }> {
    const old = this.mustBeOurs(cluster, instanceId);
    this.calls.push(`DescribeAutoScalingInstances InstanceIds=${instanceId}`);
    const group = this.groups.get(instanceId);
    if (!group) return { replaced: false };
    this.calls.push(
      `TerminateInstanceInAutoScalingGroup InstanceId=${instanceId} ShouldDecrementDesiredCapacity=false`,
    );
    const k = this.kubernetes();
    const kubeletVersion = k
      ? (
          await k.kubectl([
            'get',
            'node',
            old.kubernetesNodeName,
            '-o',
            'jsonpath={.status.nodeInfo.kubeletVersion}',
          ])
        ).trim()
      : '';
    // the instance goes; the cloud node-lifecycle controller deletes the Node of a terminated instance
    this.fleet.machines.terminate(instanceId);
    this.groups.delete(instanceId);
    await k?.kubectl(['delete', 'node', old.kubernetesNodeName, '--wait=false']);
    // the group keeps its capacity: a new instance joins as a new Node
    const n = this.launched.length + 1;
    const id = `i-0a5c${String(n).padStart(12, '0')}`;
    const name = `worker-launched-${n}`;
    const fresh = this.fleet.machines.add({
      instanceId: id,
      name,
      tags: { ...old.tags, Name: name },
      env: Object.fromEntries(
        Object.entries(old.env).filter(
          ([key]) => key !== 'CARETAKER_NODE_ROOT' && key !== 'CARETAKER_BOOT_ID_FILE',
        ),
      ),
    });
    this.groups.set(id, group);
    this.launched.push({ instanceId: id, node: name, group, replaces: instanceId });
    const descriptor = fresh.kubernetes();
    if (k && descriptor) {
      await k.kubectl(['create', '-f', '-'], {
        input: nodesManifest([{ ...descriptor, role: 'worker' }], kubeletVersion),
      });
    }
    return { replaced: true, group };
  }
}
