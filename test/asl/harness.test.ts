/** the harness itself: it must refuse to run anything that could reach real AWS */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import {
  MissingFakeError,
  UnknownSubstitutionError,
  contractSubstitutions,
  fakeSubstitutionValue,
  runDefinition,
  runWorkflow,
  substitute,
  type Fake,
  type Json,
  type ObjectReader,
} from '../../sandbox/asl-runner';
import { objectReader, startLocalS3, type LocalS3 } from '../../sandbox/s3rver';
import { obj } from './fakes';

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

  it('rejects a substitution the workflow registry does not list', () => {
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

  it('reads which function each substitution stands for from the workflow registry', () => {
    const { functionBySubstitution } = contractSubstitutions();

    expect(functionBySubstitution.get('AcquireLockFunctionArn')).toBe('acquire-lock');
    expect(functionBySubstitution.get('SendCommandFunctionArn')).toBe('send-command');
    expect(functionBySubstitution.get('PublishOutcomeFunctionArn')).toBe('publish-outcome');
  });
});

// the runner grows up: Map items, nested executions, a Distributed Map over S3 ------------------

const fixtureText = (file: string) => readFileSync(join(__dirname, 'fixtures', file), 'utf8');
const lambdaArn = (fn: string) => `arn:aws:lambda:eu-west-1:123456789012:function:caretaker-${fn}`;

/** a Caretaker error name, as the fakes throw it */
class NamedError extends Error {
  constructor(
    override readonly name: string,
    message = name,
  ) {
    super(message);
  }
}

describe('Map items', () => {
  it('counts attempts per Map item and tells the fake which item it answers', async () => {
    // Arrange
    const text = fixtureText('inline-map.asl.json');
    const ask: Fake = (input, call) => {
      if (call.attempt === 1) throw new NamedError('TransientError', 'throttled');
      return { member: obj(input)['name'] ?? null, attempt: call.attempt, item: call.item ?? null };
    };

    // Act
    const run = await runDefinition(
      'inline-map',
      text,
      { members: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] },
      {
        substitutions: { AskMemberFunctionArn: lambdaArn('ask-member') },
        fakes: { AskMemberFunctionArn: ask },
      },
    );

    // Assert
    expect(run.status).toBe('SUCCEEDED');
    expect(run.output).toEqual([
      { member: 'a', attempt: 2, item: 0 },
      { member: 'b', attempt: 2, item: 1 },
      { member: 'c', attempt: 2, item: 2 },
    ]);
    expect(run.calls.map((c) => [c.item, c.attempt]).sort()).toEqual([
      [0, 1],
      [0, 2],
      [1, 1],
      [1, 2],
      [2, 1],
      [2, 2],
    ]);
    expect(new Set(run.iterationStates.map((s) => s.index))).toEqual(new Set([0, 1, 2]));
  });

  it("fails an inline Map with the first failed item's own error", async () => {
    // Arrange
    const ask: Fake = (input) => {
      if (obj(input)['name'] === 'b') throw new NamedError('EtcdUnhealthyError', 'member b is down');
      return 'ok';
    };

    // Act
    const run = await runDefinition(
      'inline-map',
      fixtureText('inline-map.asl.json'),
      { members: [{ name: 'a' }, { name: 'b' }, { name: 'c' }] },
      {
        substitutions: { AskMemberFunctionArn: lambdaArn('ask-member') },
        fakes: { AskMemberFunctionArn: ask },
      },
    );

    // Assert
    expect(run.status).toBe('FAILED');
    expect(run.error).toEqual({ Error: 'EtcdUnhealthyError', Cause: 'member b is down' });
  });
});

describe('nested executions (states:startExecution.sync)', () => {
  const CLUSTER = 'prod-eu';

  /** the backup's fakes: the lock is held by someone else, so the child reports Skipped and succeeds */
  function skippingBackup(): Record<string, Fake> {
    const unused: Fake = () => {
      throw new Error('not on the skip path');
    };
    return {
      'acquire-lock': () => ({
        acquired: false,
        heldBy: { owner: 'other', operation: 'patch-workers', acquiredAt: 'x', expiresAt: 'y' },
      }),
      'publish-outcome': () => ({ published: true, subject: 'skipped' }),
      'release-lock': unused,
      'find-control-plane': unused,
      'send-command': unused,
      'pick-member': unused,
      'verify-upload': unused,
      'prune-snapshots': unused,
    };
  }

  it('runs the registry workflow the ARN names with the same fakes; .sync:2 gives its Output as JSON', async () => {
    // Arrange
    const fakes = skippingBackup();

    // Act
    const run = await runDefinition(
      'nested-backup',
      fixtureText('nested-backup.asl.json'),
      { cluster: CLUSTER },
      { fakes },
    );

    // Assert
    expect(run.status).toBe('SUCCEEDED');
    expect(run.children).toHaveLength(1);
    expect(run.children[0]!.workflow).toBe('etcd-backup');
    expect(run.children[0]!.callsTo('acquire-lock')).toHaveLength(1);
    expect(run.children[0]!.states.at(-1)).toBe('Skip the backup');
    const backup = obj(obj(run.output ?? null)['backup'] ?? null);
    expect(backup['status']).toBe('SUCCEEDED');
    expect(typeof backup['output']).toBe('object');
  });

  it('gives the Output as a JSON string with .sync', async () => {
    // Arrange
    const text = fixtureText('nested-backup.asl.json').replace(
      'startExecution.sync:2',
      'startExecution.sync',
    );

    // Act
    const run = await runDefinition('nested-backup', text, { cluster: CLUSTER }, { fakes: skippingBackup() });

    // Assert
    const output = obj(obj(run.output ?? null)['backup'] ?? null)['output'];
    expect(typeof output).toBe('string');
    expect(JSON.parse(String(output))).toEqual(run.children[0]!.output);
  });

  it("fails the Task with States.TaskFailed when the child fails, the child's error in the Cause", async () => {
    // Arrange
    const fakes: Record<string, Fake> = {
      ...skippingBackup(),
      'acquire-lock': () => ({ acquired: true, owner: 'o', expiresAt: 'e' }),
      'find-control-plane': () => {
        throw new NamedError('NoInstancesFoundError', 'no control-plane instance is online');
      },
      'release-lock': () => ({ released: true }),
    };

    // Act
    const run = await runDefinition(
      'nested-backup',
      fixtureText('nested-backup.asl.json'),
      { cluster: CLUSTER },
      { fakes },
    );

    // Assert
    expect(run.status).toBe('FAILED');
    expect(run.error?.Error).toBe('States.TaskFailed');
    expect(JSON.parse(run.error!.Cause)).toMatchObject({ Status: 'FAILED', Error: 'NoInstancesFoundError' });
  });

  it('rejects a run when a Task of the nested workflow has no fake, naming the workflow', async () => {
    // Arrange
    const fakes = skippingBackup();
    delete fakes['prune-snapshots'];

    // Act
    const run = runDefinition(
      'nested-backup',
      fixtureText('nested-backup.asl.json'),
      { cluster: CLUSTER },
      { fakes },
    );

    // Assert
    await expect(run).rejects.toThrow(MissingFakeError);
    await expect(
      runDefinition('nested-backup', fixtureText('nested-backup.asl.json'), { cluster: CLUSTER }, { fakes }),
    ).rejects.toThrow(/"Prune snapshots past retention" \(prune-snapshots in etcd-backup\)/);
  });
});

describe('a Distributed Map over a JSON file in the local S3', () => {
  let s3: LocalS3;
  const NODES = ['node-1', 'node-2', 'node-3', 'node-4'];

  beforeAll(async () => {
    s3 = await startLocalS3({ bucket: 'caretaker-items' });
    await s3.client().send(
      new PutObjectCommand({
        Bucket: 'caretaker-items',
        Key: 'plans/nodes.json',
        Body: JSON.stringify(NODES),
      }),
    );
  });
  afterAll(async () => {
    await s3.stop();
  });

  /** the fixture with its tolerance replaced */
  function definition(tolerance: Record<string, number>): string {
    const machine = JSON.parse(fixtureText('distributed-map.asl.json')) as {
      States: Record<string, Record<string, unknown>>;
    };
    const map = machine.States['Patch each node']!;
    delete map['ToleratedFailureCount'];
    Object.assign(map, tolerance);
    return JSON.stringify(machine);
  }

  const run = (text: string, patch: Fake, objects: ObjectReader | null = objectReader(s3.client())) =>
    runDefinition(
      'distributed-map',
      text,
      { cluster: 'prod-eu', bucket: 'caretaker-items', key: 'plans/nodes.json' },
      {
        substitutions: { PatchNodeFunctionArn: lambdaArn('patch-node') },
        fakes: { PatchNodeFunctionArn: patch },
        objects: objects ?? undefined,
      },
    );
  const failing =
    (...nodes: string[]): Fake =>
    (input) => {
      const node = String(obj(input)['node']);
      if (nodes.includes(node)) throw new NamedError('CommandFailedError', `${node}: apt failed`);
      return { node, patched: true };
    };

  it('reads its items from S3 and runs each through the item processor, outputs in item order', async () => {
    // Act
    const result = await run(definition({}), failing());

    // Assert
    expect(result.status).toBe('SUCCEEDED');
    expect(result.output).toEqual(NODES.map((node) => ({ node, patched: true })));
    expect(result.inputsTo('PatchNodeFunctionArn')).toContainEqual({ cluster: 'prod-eu', node: 'node-3' });
  });

  it('runs at most MaxConcurrency items at once', async () => {
    // Arrange
    let inFlight = 0;
    let most = 0;
    const slow: Fake = async (input) => {
      inFlight += 1;
      most = Math.max(most, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 20));
      inFlight -= 1;
      return obj(input)['node'] ?? null;
    };

    // Act
    const result = await run(definition({ MaxConcurrency: 2 }), slow);

    // Assert
    expect(result.status).toBe('SUCCEEDED');
    expect(most).toBe(2);
  });

  it("tolerates ToleratedFailureCount failed items, keeping each one's error in its place", async () => {
    // Act
    const result = await run(definition({ ToleratedFailureCount: 1 }), failing('node-2'));

    // Assert
    expect(result.status).toBe('SUCCEEDED');
    expect((result.output as Json[])[1]).toEqual({
      Error: 'CommandFailedError',
      Cause: 'node-2: apt failed',
    });
  });

  it.each([
    [{ ToleratedFailureCount: 1 }, ['node-1', 'node-3']],
    [{ ToleratedFailurePercentage: 25 }, ['node-1', 'node-3']],
    [{}, ['node-4']],
    [{ ToleratedFailureCount: 5, ToleratedFailurePercentage: 25 }, ['node-1', 'node-3']],
  ])(
    'fails with States.ExceedToleratedFailureThreshold past the threshold %j (failing %j)',
    async (tolerance, nodes) => {
      // Act
      const result = await run(definition(tolerance), failing(...nodes));

      // Assert
      expect(result.status).toBe('FAILED');
      expect(result.error?.Error).toBe('States.ExceedToleratedFailureThreshold');
    },
  );

  it('tolerates exactly ToleratedFailurePercentage of the items (1 of 4 is 25 %)', async () => {
    // Act
    const result = await run(definition({ ToleratedFailurePercentage: 25 }), failing('node-4'));

    // Assert
    expect(result.status).toBe('SUCCEEDED');
  });

  it('fails with States.ItemReaderFailed when the file is missing', async () => {
    // Arrange
    const text = definition({}).replace('"Key.$":"$.key"', '"Key":"plans/missing.json"');

    // Act
    const result = await run(text, failing());

    // Assert
    expect(result.status).toBe('FAILED');
    expect(result.error?.Error).toBe('States.ItemReaderFailed');
  });

  it('rejects a run whose ItemReader has no S3 to read', async () => {
    // Act
    const result = run(definition({}), failing(), null);

    // Assert
    await expect(result).rejects.toThrow(/an ItemReader reads S3/);
  });
});
