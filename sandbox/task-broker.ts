import { randomUUID } from 'node:crypto';
import type { TaskCallbacks } from '../functions/shared/ports';

/**
 * Plays Step Functions' task-token service for the sandbox: a `.waitForTaskToken` step waits on
 * a token, and the real complete-command handler settles it through SendTaskSuccess/Failure
 * (this class's `succeed`/`fail`), exactly as in AWS.
 */
export class TaskBroker implements TaskCallbacks {
  private readonly waiting = new Map<string, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();

  /** a fresh token and the promise its task settles with */
  issue(): { token: string; settled: Promise<unknown> } {
    const token = `sandbox-token-${randomUUID()}`;
    const settled = new Promise<unknown>((resolve, reject) => this.waiting.set(token, { resolve, reject }));
    return { token, settled };
  }

  get pending(): number {
    return this.waiting.size;
  }

  async succeed(taskToken: string, output: unknown): Promise<void> {
    const w = this.waiting.get(taskToken);
    this.waiting.delete(taskToken);
    // as in AWS, a token whose task already ended is ignored
    w?.resolve(JSON.parse(JSON.stringify(output)) as unknown);
  }

  async fail(taskToken: string, error: string, cause: string): Promise<void> {
    const w = this.waiting.get(taskToken);
    this.waiting.delete(taskToken);
    const e = new Error(cause);
    e.name = error;
    w?.reject(e);
  }

  /** fails every waiting task: the sandbox is stopping */
  abandon(reason: string): void {
    for (const token of [...this.waiting.keys()]) void this.fail(token, 'States.Aborted', reason);
  }
}
