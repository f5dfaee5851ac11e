import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SCRATCH_READY_CHECK_SECONDS } from '../../functions/shared/domain/scratch';
import { CommandFailedError, ScratchGoneError, TransientError } from '../../functions/shared/errors';
import { readWorkflow, REPO_ROOT, runWorkflow, type Fake, type Json } from '../../sandbox/asl-runner';
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
    'check-scratch-ready': () => ({ ready: true, deadlineExpired: false, checks: 1, reason: '' }),
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

  it('waits and checks again until the scratch instance reaches SSM, counting the checks in the state', async () => {
    const w = world({
      'check-scratch-ready': (payload) => {
        const checks = Number(obj(payload)['checks']) + 1;
        return {
          ready: checks === 3,
          deadlineExpired: false,
          checks,
          reason: checks === 3 ? '' : 'not Online yet',
        };
      },
    });
    const result = await w.run();

    expect(result.status).toBe('SUCCEEDED');
    expect(result.inputsTo('check-scratch-ready')).toEqual(
      [0, 1, 2].map((checks) => ({ cluster: 'prod-eu', instanceId: SCRATCH, checks })),
    );
    expect(result.states.filter((s) => s === 'Give the scratch instance time to boot')).toHaveLength(3);
    expect(result.callsTo('send-command')).toHaveLength(1);
    expect(w.terminated).toEqual([SCRATCH]);
  });

  it('fails with ScratchNotReadyError when the deadline passes, leaving the snapshot untagged and terminating the instance', async () => {
    const w = world({
      // as check-scratch-ready answers: the 60th check that is not ready says the deadline passed
      'check-scratch-ready': (payload) => {
        const checks = Number(obj(payload)['checks']) + 1;
        return {
          ready: false,
          deadlineExpired: checks >= 60,
          checks,
          reason: `not Online after ${checks} check(s)`,
        };
      },
    });
    const result = await w.run();

    expect(result.status).toBe('FAILED');
    expect(result.error).toEqual({ Error: 'ScratchNotReadyError', Cause: 'not Online after 60 check(s)' });
    expect(result.callsTo('check-scratch-ready')).toHaveLength(60);
    expect(result.callsTo('send-command')).toEqual([]);
    expect(w.tags.has(KEY)).toBe(false);
    expect(w.terminated).toEqual([SCRATCH]);
    expect(result.inputsTo('publish-outcome')).toEqual([
      expect.objectContaining({
        outcome: 'Failed',
        error: { Error: 'ScratchNotReadyError', Cause: 'not Online after 60 check(s)' },
      }),
    ]);
  });

  it('fails at once with ScratchGoneError when the scratch instance is terminated before it is ready, and still terminates it', async () => {
    const w = world({
      'check-scratch-ready': () => {
        throw new ScratchGoneError('scratch instance is terminated');
      },
    });
    const result = await w.run();

    expect(result.status).toBe('FAILED');
    expect(result.error?.Error).toBe('ScratchGoneError');
    expect(result.callsTo('check-scratch-ready')).toHaveLength(1);
    expect(result.callsTo('send-command')).toEqual([]);
    expect(w.terminated).toEqual([SCRATCH]);
  });

  it('waits with a Wait state and a Choice, never by retrying a not-ready error', () => {
    const machine = readWorkflow('restore-verify');
    const check = machine.States['Check whether the scratch instance reached SSM']!;

    expect(machine.States['Wait until the scratch instance reaches SSM']).toBeUndefined();
    expect(check.Retry!.flatMap((r) => r.ErrorEquals)).not.toContain('ScratchNotReadyError');
    expect(machine.States['Give the scratch instance time to boot']).toMatchObject({
      Type: 'Wait',
      Seconds: SCRATCH_READY_CHECK_SECONDS,
    });
    expect(machine.States['Is the scratch instance ready?']!.Type).toBe('Choice');
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
