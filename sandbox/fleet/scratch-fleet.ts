import type { ScratchFleet, ScratchInstance, ScratchLaunch } from '../../functions/shared/ports';
import { ROLE_TAG, SCRATCH_ROLE } from '../../functions/shared/domain/config';
import type { NodeSet } from './nodes';

export interface LocalScratchFleetOptions {
  /** the environment a launched scratch node gets (its S3, its work dir); EC2 would boot an image */
  scratchEnv?: (instanceId: string) => Record<string, string>;
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
    this.nodes.add({
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
