import { createServer } from 'node:net';
import type { ScratchFleet, ScratchInstance, ScratchLaunch } from '../../functions/shared/ports';
import { ROLE_TAG, SCRATCH_ROLE } from '../../functions/shared/domain/config';
import type { NodeSet } from './nodes';

export interface LocalScratchFleetOptions {
  /** the environment a launched scratch node gets (its S3, its work dir); EC2 would boot an image */
  scratchEnv?: (instanceId: string) => Record<string, string>;
}

/** the port, if it is free on loopback now (0: any free port) */
async function freePort(port = 0): Promise<number | undefined> {
  const server = createServer();
  return new Promise((resolve) => {
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      const found = typeof address === 'object' && address ? address.port : undefined;
      server.close(() => resolve(found));
    });
  });
}

/** ports already given to a scratch node of this process: the OS may offer one again once closed */
const given = new Set<number>();

/**
 * Free loopback ports for etcd-restore-verify on one scratch node: ClientPort, PeerPort, and
 * PeerPort+1, which the document gives kube-apiserver. On EC2 each scratch instance is its own
 * machine and the document's defaults (23790/23800/23801) do; here every node shares one.
 */
export async function restoreVerifyPorts(): Promise<{ ClientPort: string; PeerPort: string }> {
  for (let attempt = 0; attempt < 100; attempt++) {
    const peer = await freePort();
    if (peer === undefined || peer >= 65535 || given.has(peer) || given.has(peer + 1)) continue;
    if ((await freePort(peer + 1)) === undefined) continue;
    const client = await freePort();
    if (client === undefined || given.has(client) || client === peer || client === peer + 1) continue;
    for (const p of [client, peer, peer + 1]) given.add(p);
    return { ClientPort: String(client), PeerPort: String(peer) };
  }
  throw new Error('no free loopback ports for a scratch node (ClientPort, PeerPort, PeerPort+1)');
}

/** EC2 RunInstances / DescribeInstances / TerminateInstances for throwaway scratch nodes */
export class LocalScratchFleet implements ScratchFleet {
  /** every scratch launch, and which were terminated: the sandbox report and tests read these */
  readonly launches: (ScratchLaunch & { instanceId: string })[] = [];
  readonly terminated: string[] = [];
  /** false plays scratch instances whose SSM agent never comes Online */
  scratchComesOnline = true;
  private launchCount = 0;

  constructor(
    private readonly nodes: NodeSet,
    private readonly options: LocalScratchFleetOptions = {},
  ) {}

  async launch(request: ScratchLaunch): Promise<{ instanceId: string }> {
    // RunInstances with the same client token returns the same instance
    const again = this.launches.find((l) => l.clientToken === request.clientToken);
    if (again) return { instanceId: again.instanceId };
    this.launchCount += 1;
    const instanceId = `i-05c7a7c400000${String(this.launchCount).padStart(4, '0')}`;
    this.launches.push({ ...request, instanceId });
    // etcd and kube-apiserver of a restore listen on this node's own ports, not the defaults
    const parameterDefaults = await restoreVerifyPorts();
    this.nodes.add({
      parameterDefaults,
      instanceId,
      name: request.tags.Name ?? 'scratch',
      tags: { ...request.tags },
      env: this.options.scratchEnv?.(instanceId) ?? {},
      online: this.scratchComesOnline,
      role: 'scratch',
    });
    return { instanceId };
  }

  async listScratch(): Promise<ScratchInstance[]> {
    return [...this.nodes.nodes.values()]
      .filter((n) => n.tags[ROLE_TAG] === SCRATCH_ROLE)
      .map((n) => ({ instanceId: n.instanceId, tags: { ...n.tags }, state: n.state }));
  }

  async terminate(instanceId: string): Promise<void> {
    if (this.nodes.terminate(instanceId)) this.terminated.push(instanceId);
  }
}
