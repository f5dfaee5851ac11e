import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CommandFailedError, ScratchNotReadyError, TransientError } from '../../functions/shared/errors';
import { REPO_ROOT, runWorkflow, type Fake, type Json } from '../../sandbox/asl-runner';
import { obj, OutcomeRecorder } from './fakes';

const verified = JSON.parse(
  readFileSync(join(REPO_ROOT, 'events', 'restore-verify', 'verified.json'), 'utf8'),
) as Record<string, Json>;
const KEY = String(verified.key);
const SCRATCH = 'i-0badc0ffee0000001';

/** a world of fakes: one snapshot waiting, one scratch instance, a tag store */
function world(fakes: Record<string, Fake> = {}) {
  const outcomes = new OutcomeRecorder();
  const tags = new Map<string, string>();
  const terminated: string[] = [];
  const all: Record<string, Fake> = {
    'pick-snapshot': () => ({
      found: true,
      key: KEY,
      manifestKey: KEY.replace(/\.db$/, '.json'),
      takenAt: '2026-11-25T06:00:12Z',
      ageSeconds: 60,
    }),
    'launch-scratch': () => ({ instanceId: SCRATCH, expiresAt: '2026-11-25T08:00:00Z' }),
    'check-scratch-ready': () => ({ ready: true }),
    'send-command': () => verified,
    'record-verification': (payload) => {
      const v = obj(obj(payload)['verification'] as Json);
      tags.set(KEY, String(v['verified']));
      return {
        verified: v['verified'] as boolean,
        failedCheck: v['failedCheck'] ?? '',
        reason: v['reason'] ?? '',
        key: KEY,
        reportKey: 'r',
        restoreSeconds: 2.4,
      };
    },
    'terminate-scratch': (payload) => {
      terminated.push(String(obj(payload)['instanceId']));
      return { terminated: true, reason: '' };
    },
    'publish-outcome': outcomes.publish,
    ...fakes,
  };
  return {
    outcomes,
    tags,
    terminated,
    run: () => runWorkflow('restore-verify', { cluster: 'prod-eu' }, { fakes: all }),
  };
}

describe('restore-verify workflow', () => {
  it('restores the newest snapshot on a scratch instance, records it verified, terminates the instance and reports the RTO', async () => {
    const w = world();
    const result = await w.run();

    expect(result.status).toBe('SUCCEEDED');
    expect(result.states.at(-1)).toBe('Snapshot verified');
    expect(result.inputsTo('send-command')).toEqual([
      expect.objectContaining({ instanceId: SCRATCH, command: 'etcd-restore-verify', args: { key: KEY } }),
    ]);
    expect(w.tags.get(KEY)).toBe('true');
    expect(w.terminated).toEqual([SCRATCH]);
    expect(result.inputsTo('publish-outcome')).toEqual([
      expect.objectContaining({
        outcome: 'Succeeded',
        workflow: 'restore-verify',
        verification: expect.objectContaining({ verified: true, restoreSeconds: 2.4 }),
      }),
    ]);
  });

  it('ends Skipped without launching anything when there is nothing new to verify', async () => {
    const w = world({
      'pick-snapshot': () => ({ found: false, reason: 'the newest snapshot was already verified' }),
    });
    const result = await w.run();

    expect(result.status).toBe('SUCCEEDED');
    expect(result.callsTo('launch-scratch')).toEqual([]);
    expect(result.inputsTo('publish-outcome')).toEqual([
      expect.objectContaining({ outcome: 'Skipped', note: 'the newest snapshot was already verified' }),
    ]);
  });

  it('fails with VerificationFailedError naming the check, tags the snapshot false and still terminates the scratch instance', async () => {
    const w = world({
      'send-command': () => ({
        ...verified,
        verified: false,
        failedCheck: 'sha256',
        reason: 'sha256 of the download differs from the manifest',
      }),
    });
    const result = await w.run();

    expect(result.status).toBe('FAILED');
    expect(result.error).toEqual({
      Error: 'VerificationFailedError',
      Cause: 'sha256 of the download differs from the manifest',
    });
    expect(w.tags.get(KEY)).toBe('false');
    expect(w.terminated).toEqual([SCRATCH]);
    expect(result.inputsTo('publish-outcome')).toEqual([
      expect.objectContaining({
        outcome: 'Failed',
        verification: expect.objectContaining({ verified: false, failedCheck: 'sha256' }),
      }),
    ]);
  });

  it('fails when the scratch instance never reaches SSM, leaving the snapshot untagged and terminating the instance', async () => {
    const w = world({
      'check-scratch-ready': () => {
        throw new ScratchNotReadyError('not Online');
      },
    });
    const result = await w.run();

    expect(result.status).toBe('FAILED');
    expect(result.error?.Error).toBe('ScratchNotReadyError');
    // the first try and 30 retries
    expect(result.callsTo('check-scratch-ready')).toHaveLength(31);
    expect(result.callsTo('send-command')).toEqual([]);
    expect(w.tags.has(KEY)).toBe(false);
    expect(w.terminated).toEqual([SCRATCH]);
    expect(result.inputsTo('publish-outcome')).toEqual([expect.objectContaining({ outcome: 'Failed' })]);
  });

  it.each([
    [
      'the restore command fails',
      {
        'send-command': () => {
          throw new CommandFailedError('exit 2');
        },
      },
      'CommandFailedError',
    ],
    [
      'recording the verdict fails',
      {
        'record-verification': () => {
          throw new Error('AccessDenied');
        },
      },
      'Error',
    ],
  ])('fails when %s and still terminates the scratch instance', async (_what, fakes, error) => {
    const w = world(fakes as Record<string, Fake>);
    const result = await w.run();

    expect(result.status).toBe('FAILED');
    expect(result.error?.Error).toBe(error);
    expect(w.terminated).toEqual([SCRATCH]);
    expect(w.tags.has(KEY)).toBe(false);
  });

  it('fails without anything to terminate when the launch itself fails', async () => {
    const w = world({
      'launch-scratch': () => {
        throw new Error('InsufficientInstanceCapacity');
      },
    });
    const result = await w.run();

    expect(result.status).toBe('FAILED');
    expect(result.callsTo('terminate-scratch')).toEqual([]);
    expect(result.inputsTo('publish-outcome')).toEqual([expect.objectContaining({ outcome: 'Failed' })]);
  });

  it('still reports the verdict when terminating the scratch instance fails (the janitor removes it)', async () => {
    const w = world({
      'terminate-scratch': () => {
        throw new TransientError('throttled');
      },
    });
    const result = await w.run();

    expect(result.status).toBe('SUCCEEDED');
    expect(result.inputsTo('publish-outcome')).toEqual([expect.objectContaining({ outcome: 'Succeeded' })]);
  });
});
