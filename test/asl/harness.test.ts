/** the harness itself: it must refuse to run anything that could reach real AWS */
import {
  MissingFakeError,
  UnknownSubstitutionError,
  contractSubstitutions,
  fakeSubstitutionValue,
  runWorkflow,
  substitute,
} from '../../sandbox/asl-runner';

describe('test/support/asl harness', () => {
  it('rejects a workflow run when a Task state has no fake', async () => {
    const fakes = { 'acquire-lock': () => ({ acquired: true, owner: 'x', expiresAt: 'y' }) };

    await expect(runWorkflow('etcd-backup', { cluster: 'prod-eu' }, { fakes })).rejects.toThrow(
      MissingFakeError,
    );
    await expect(runWorkflow('etcd-backup', { cluster: 'prod-eu' }, { fakes })).rejects.toThrow(
      /"Prune snapshots past retention" \(prune-snapshots\)/,
    );
  });

  it('rejects a fake or timeout for a state the workflow does not have', async () => {
    await expect(
      runWorkflow('etcd-backup', { cluster: 'prod-eu' }, { byState: { 'No such state': () => null } }),
    ).rejects.toThrow(/no state named "No such state"/);
  });

  it('rejects a substitution docs/contracts.md does not list', () => {
    expect(() => substitute('{"Resource": "${AquireLockFunctionArn}"}')).toThrow(UnknownSubstitutionError);
    expect(() => substitute('{"Resource": "${AquireLockFunctionArn}"}')).toThrow(/AquireLockFunctionArn/);
  });

  it('fills contract substitutions with fake Lambda ARNs and accepts explicit extras', () => {
    const out = substitute('["${AcquireLockFunctionArn}", "${SnapshotBucketName}"]', {
      SnapshotBucketName: 'caretaker-test-bucket',
    });

    expect(JSON.parse(out)).toEqual([
      'arn:aws:lambda:eu-west-1:123456789012:function:caretaker-acquire-lock',
      'caretaker-test-bucket',
    ]);
    expect(fakeSubstitutionValue('SendCommandFunctionArn')).toMatch(/function:caretaker-send-command$/);
  });

  it('reads which function each substitution stands for from docs/contracts.md', () => {
    const { functionBySubstitution } = contractSubstitutions();

    expect(functionBySubstitution.get('AcquireLockFunctionArn')).toBe('acquire-lock');
    expect(functionBySubstitution.get('SendCommandFunctionArn')).toBe('send-command');
    expect(functionBySubstitution.get('PublishOutcomeFunctionArn')).toBe('publish-outcome');
  });
});
