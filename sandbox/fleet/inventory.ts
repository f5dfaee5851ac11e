import type { Instance, Inventory } from '../../functions/shared/ports';
import type { NodeSet, PingStatus } from './nodes';

/** one entry of SSM DescribeInstanceInformation, the fields the fleet plays */
export interface InstanceInformation {
  InstanceId: string;
  PingStatus: PingStatus;
  LastPingDateTime: Date;
  ComputerName: string;
  PlatformType: 'Linux';
  ResourceType: 'EC2Instance';
  IPAddress: string;
}

/**
 * EC2 DescribeInstances + SSM DescribeInstanceInformation over the fleet's nodes: running
 * instances with the tags, narrowed to those SSM reports Online (as ec2-inventory.ts does), so
 * a rebooting node drops out until it is back.
 */
export class LocalInventory implements Inventory {
  constructor(private readonly nodes: NodeSet) {}

  async findManagedInstances(tags: Record<string, string>): Promise<Instance[]> {
    return [...this.nodes.nodes.values()]
      .filter((n) => n.online && Object.entries(tags).every(([k, v]) => n.tags[k] === v))
      .map((n) => ({
        instanceId: n.instanceId,
        name: n.name,
        privateIp: n.privateIp,
        availabilityZone: n.availabilityZone,
      }))
      .sort((a, b) => a.instanceId.localeCompare(b.instanceId));
  }

  /** what SSM knows of the instances (every registered one, or those named), Online or not */
  describeInstanceInformation(instanceIds?: readonly string[]): InstanceInformation[] {
    return [...this.nodes.nodes.values()]
      .filter((n) => n.registered && (!instanceIds || instanceIds.includes(n.instanceId)))
      .map((n) => ({
        InstanceId: n.instanceId,
        PingStatus: n.pingStatus,
        LastPingDateTime: n.lastPingAt,
        ComputerName: n.name,
        PlatformType: 'Linux' as const,
        ResourceType: 'EC2Instance' as const,
        IPAddress: n.privateIp,
      }))
      .sort((a, b) => a.InstanceId.localeCompare(b.InstanceId));
  }
}
