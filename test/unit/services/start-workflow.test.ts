import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describeOutcome } from '../../../functions/publish-outcome/service';
import { executionName } from '../../../functions/shared/domain/execution-name';
import { InvalidInputError } from '../../../functions/shared/errors';
import { startWorkflow, type StartWorkflowInput } from '../../../functions/start-workflow/service';
import { staticDirectory } from '../../support/fakes';

const event = (name: string) =>
  JSON.parse(
    readFileSync(join(__dirname, '../../../events/start-workflow', name), 'utf8'),
  ) as StartWorkflowInput;

const arns = {
  'etcd-backup': 'arn:aws:states:eu-west-1:123456789012:stateMachine:caretaker-etcd-backup',
  'restore-verify': 'arn:aws:states:eu-west-1:123456789012:stateMachine:caretaker-restore-verify',
};

function deps() {
  const starter = { start: jest.fn(async () => ({ executionArn: 'arn:exec', duplicate: false })) };
  return { starter, d: { clusters: staticDirectory(), starter, stateMachines: arns } };
}

describe('startWorkflow with the workflow registry', () => {
  it('passes the workflow its own input, checked by its schema, and keeps the request id in the name', async () => {
    // Arrange
    const request = event('request-with-input.json');
    const { starter, d } = deps();

    // Act
    const out = await startWorkflow(request, d);

    // Assert
    expect(starter.start).toHaveBeenCalledWith(
      arns['restore-verify'],
      'restore-verify-prod-eu-20261125T060312Z-7483902611_1849_a4c7e1b2',
      {
        cluster: 'prod-eu',
        requestedBy: 'slack:U024BE7LH',
        requestId: '7483902611.1849.a4c7e1b2',
        key: 'prod-eu/etcd/2026/11/25/20261125T060000Z-r1042.db',
      },
    );
    expect(out.name).toMatch(/-7483902611_1849_a4c7e1b2$/);
  });

  it('rejects a field the workflow does not take, naming it, and starts nothing', async () => {
    // Arrange
    const request = { ...event('schedule.json'), input: { dryRun: true } };
    const { starter, d } = deps();

    // Act
    const run = startWorkflow(request, d);

    // Assert
    await expect(run).rejects.toThrow(InvalidInputError);
    await expect(startWorkflow(request, d)).rejects.toThrow(/etcd-backup input: .*dryRun/);
    expect(starter.start).not.toHaveBeenCalled();
  });

  it.each(['constructor', '__proto__', 'toString'])(
    'rejects the workflow name "%s": only registry entries this stack deployed start',
    async (workflow) => {
      // Arrange
      const { starter, d } = deps();

      // Act
      const run = startWorkflow({ ...event('schedule.json'), workflow }, d);

      // Assert
      await expect(run).rejects.toThrow(/is not deployed here/);
      expect(starter.start).not.toHaveBeenCalled();
    },
  );

  it('rejects a registry workflow this stack did not deploy', async () => {
    // Arrange
    const { starter, d } = deps();
    const onlyBackup = { ...d, stateMachines: { 'etcd-backup': arns['etcd-backup'] } };

    // Act
    const run = startWorkflow(event('request-with-input.json'), onlyBackup);

    // Assert
    await expect(run).rejects.toThrow(/"restore-verify" is not deployed here \(have: etcd-backup\)/);
    expect(starter.start).not.toHaveBeenCalled();
  });
});

describe('executionName', () => {
  it('keeps a request id that does not fit whole as a digest: a retry gets the same name, another request another', () => {
    // Arrange
    const cluster = 'a-cluster-name-of-thirty-eight-chars-x';
    const at = new Date('2026-11-25T06:00:00Z');

    // Act
    const first = executionName('restore-verify', cluster, at, 'request-0001');
    const again = executionName('restore-verify', cluster, at, 'request-0001');
    const other = executionName('restore-verify', cluster, at, 'request-0002');

    // Assert
    expect(first.length).toBeLessThanOrEqual(80);
    expect(first.startsWith(`restore-verify-${cluster}-20261125T060000Z-`)).toBe(true);
    expect(again).toBe(first);
    expect(other).not.toBe(first);
  });
});

describe('outcome messages', () => {
  const failed = (workflow: string) =>
    describeOutcome(
      {
        cluster: 'prod-eu',
        workflow,
        outcome: 'Failed',
        executionId: 'arn:exec',
        startedAt: '2026-11-25T06:00:00Z',
        error: { Error: 'CommandFailedError', Cause: 'exit 1' },
      },
      12,
    ).message;

  it("says what each workflow's failure path undid, in its own words", () => {
    // Act
    const backup = failed('etcd-backup');
    const verify = failed('restore-verify');

    // Assert
    expect(backup).toContain('no snapshot was pruned');
    expect(verify).toContain('The scratch instance was terminated');
    expect(verify).not.toContain('pruned');
  });

  it('says nothing it cannot know for a workflow the registry does not have', () => {
    // Act
    const message = failed('some-future-workflow');

    // Assert
    expect(message).not.toContain('pruned');
    expect(message).not.toContain('scratch');
  });
});
