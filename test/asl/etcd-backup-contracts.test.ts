/**
 * The ASL and the handlers agree: every input the workflow sends (as recorded by the harness)
 * is accepted by the real handler's zod schema, on the success, skip and failure paths.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { z } from 'zod';
import { input as acquireLock } from '../../functions/acquire-lock/handler';
import { input as findControlPlane } from '../../functions/find-control-plane/handler';
import { input as pickMemberInput } from '../../functions/pick-member/handler';
import { input as pruneSnapshots } from '../../functions/prune-snapshots/handler';
import { input as publishOutcome } from '../../functions/publish-outcome/handler';
import { input as releaseLock } from '../../functions/release-lock/handler';
import { input as sendCommand } from '../../functions/send-command/handler';
import { input as verifyUpload } from '../../functions/verify-upload/handler';
import {
  pickMember,
  type MemberFailure,
  type MemberStatus,
} from '../../functions/shared/domain/member-selection';
import { CommandFailedError } from '../../functions/shared/errors';
import { REPO_ROOT, runWorkflow, type Fake, type Json, type RunResult } from '../../sandbox/asl-runner';
import { InMemoryLock, OutcomeRecorder, obj } from './fakes';

const schemas: Record<string, z.ZodType> = {
  'acquire-lock': acquireLock,
  'release-lock': releaseLock,
  'find-control-plane': findControlPlane,
  'send-command': sendCommand,
  'pick-member': pickMemberInput,
  'verify-upload': verifyUpload,
  'prune-snapshots': pruneSnapshots,
  'publish-outcome': publishOutcome,
};

const fixture = JSON.parse(readFileSync(join(__dirname, 'fixtures', 'etcd-backup.json'), 'utf8')) as {
  instances: Json[];
  statuses: Record<string, Json>;
  snapshot: Record<string, Json>;
  upload: Json;
  pruned: Json;
};
const input = JSON.parse(
  readFileSync(join(REPO_ROOT, 'events', 'scheduler', 'etcd-backup.json'), 'utf8'),
) as Json;

function fakes(lock: InMemoryLock, overrides: Record<string, Fake> = {}): Record<string, Fake> {
  return {
    'acquire-lock': lock.acquire,
    'release-lock': lock.release,
    'find-control-plane': () => ({ instances: fixture.instances }),
    'send-command': (payload) => {
      const { command, instanceId } = obj(payload);
      if (command === 'etcd-status') {
        if (instanceId === 'i-0a1b2c3d4e5f60003') throw new CommandFailedError('etcd-status exited 1');
        return fixture.statuses[String(instanceId)]!;
      }
      return { ...fixture.snapshot, instanceId: String(instanceId) };
    },
    'pick-member': (payload) =>
      pickMember(obj(payload)['statuses'] as unknown as (MemberStatus | MemberFailure)[]) as unknown as Json,
    'verify-upload': () => fixture.upload,
    'prune-snapshots': () => fixture.pruned,
    'publish-outcome': new OutcomeRecorder().publish,
    ...overrides,
  };
}

/** every recorded input that its handler's schema refuses, with zod's reason */
function refused(run: RunResult): string[] {
  return run.calls.flatMap((call) => {
    const schema = schemas[call.target];
    if (!schema) return [`${call.state}: no schema for ${call.target}`];
    const parsed = schema.safeParse(call.input);
    return parsed.success ? [] : [`${call.state}: ${parsed.error.message}`];
  });
}

describe('etcd-backup ↔ handler contracts', () => {
  it('sends every function an input its handler accepts on the success path', async () => {
    const run = await runWorkflow('etcd-backup', input, { fakes: fakes(new InMemoryLock()) });

    expect(run.status).toBe('SUCCEEDED');
    expect(new Set(run.calls.map((c) => c.target))).toEqual(new Set(Object.keys(schemas)));
    expect(refused(run)).toEqual([]);
  });

  it('sends every function an input its handler accepts when the lock is held', async () => {
    const lock = new InMemoryLock();
    lock.hold('prod-eu', {
      owner: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-patch-workers:nightly',
      operation: 'patch-workers',
      acquiredAt: '2026-11-25T05:30:00.000Z',
      expiresAt: '2026-11-25T09:30:00.000Z',
    });

    const run = await runWorkflow('etcd-backup', input, { fakes: fakes(lock) });

    expect(run.status).toBe('SUCCEEDED');
    expect(refused(run)).toEqual([]);
  });

  it('sends every function an input its handler accepts on the failure path', async () => {
    const run = await runWorkflow('etcd-backup', input, {
      fakes: fakes(new InMemoryLock(), {
        'send-command': (payload) => {
          const { command, instanceId } = obj(payload);
          if (command === 'etcd-status') return fixture.statuses[String(instanceId)]!;
          throw new CommandFailedError('etcd-snapshot exited 2');
        },
      }),
    });

    expect(run.status).toBe('FAILED');
    expect(refused(run)).toEqual([]);
  });
});
