import { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import { SFNClient } from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
// types for the matchers; jest's setupFilesAfterEnv registers them at run time
import 'aws-sdk-client-mock-jest';
import { run } from './harness';

const sfn = mockClient(SFNClient);
const cloudFormation = mockClient(CloudFormationClient);

beforeEach(() => {
  sfn.reset();
  cloudFormation.reset();
});

afterEach(() => {
  // no usage error, no help text reaches AWS
  expect(sfn.calls()).toHaveLength(0);
  expect(cloudFormation.calls()).toHaveLength(0);
});

describe('caretaker --help', () => {
  it('lists every command', async () => {
    // Act
    const out = await run(['--help']);

    // Assert
    expect(out.code).toBe(0);
    for (const command of [
      'config check [file]',
      'backup <cluster>',
      'restore-verify <cluster>',
      'status <cluster>',
      'history <cluster>',
      'sandbox [...]',
    ]) {
      expect(out.stdout).toContain(`  ${command}`);
    }
  });

  it.each([
    [['config', 'check', '--help'], 'Usage: caretaker config check [file]'],
    [['config', '--help'], 'Usage: caretaker config check [file]'],
    [['backup', '--help'], 'Usage: caretaker backup <cluster> [--follow]'],
    [['restore-verify', '--help'], 'Usage: caretaker restore-verify <cluster>'],
    [['restore-verify', '-h'], 'Usage: caretaker restore-verify <cluster> [--key KEY]'],
    [['backup', 'prod-eu', '--help'], 'Usage: caretaker backup <cluster>'],
    [['status', '--help'], 'Usage: caretaker status <cluster>'],
    [['history', '--help'], 'Usage: caretaker history <cluster> [--limit N]'],
    [['help', 'history'], 'Usage: caretaker history <cluster> [--limit N]'],
    [['sandbox', '--help'], 'Usage: caretaker sandbox'],
  ])('prints the help of `caretaker %j`', async (argv, usage) => {
    // Act
    const out = await run(argv);

    // Assert
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(usage);
    expect(out.stderr).toBe('');
  });

  it('names the environment variable and stack output each workflow reads its ARN from', async () => {
    // Act
    const out = await run(['restore-verify', '--help']);

    // Assert
    expect(out.stdout).toContain('$CARETAKER_RESTORE_VERIFY_ARN');
    expect(out.stdout).toContain('RestoreVerifyStateMachineArn');
  });

  it.each(['defrag'])(
    'rejects `%s`: a verb comes with its workflow, and that workflow does not exist',
    async (verb) => {
      // Act
      const out = await run([verb, 'prod-eu']);

      // Assert
      expect(out.code).toBe(2);
      expect(out.stderr).toContain(`unknown command "${verb}"`);
    },
  );
});

describe('usage errors', () => {
  it('rejects an unknown command with exit 2', async () => {
    // Act
    const out = await run(['backpu', 'prod-eu']);

    // Assert
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('caretaker: unknown command "backpu"');
    expect(out.stderr).toContain("Run 'caretaker --help' for usage.");
  });

  it('rejects an unknown flag with exit 2 and points at the command help', async () => {
    // Act
    const out = await run(['backup', 'prod-eu', '--folow']);

    // Assert
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("caretaker: backup: Unknown option '--folow'");
    expect(out.stderr).toContain("Run 'caretaker backup --help' for usage.");
  });

  it('rejects a workflow command without a cluster', async () => {
    // Act
    const out = await run(['backup', '--follow']);

    // Assert
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('backup: missing <cluster>');
  });

  it('rejects a second cluster argument', async () => {
    // Act
    const out = await run(['status', 'prod-eu', 'edge']);

    // Assert
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('status: unexpected argument "edge"');
  });

  it('rejects a flag without its value', async () => {
    // Act
    const out = await run(['backup', 'prod-eu', '--region']);

    // Assert
    expect(out.code).toBe(2);
    expect(out.stderr).toContain("Option '--region <value>' argument missing");
  });

  it('rejects --json together with --follow', async () => {
    // Act
    const out = await run(['backup', 'prod-eu', '--follow', '--json']);

    // Assert
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('cannot be combined with --follow');
  });

  it('rejects a --limit that is not a positive whole number', async () => {
    // Act
    const out = await run(['history', 'prod-eu', '--limit', 'ten']);

    // Assert
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('--limit must be a whole number from 1 to 1000, not "ten"');
  });

  it('rejects an unknown --workflow for history', async () => {
    // Act
    const out = await run(['history', 'prod-eu', '--workflow', 'etcd-backup']);

    // Assert
    expect(out.code).toBe(2);
    // every registry verb is listed; other workflows add theirs
    expect(out.stderr).toMatch(/--workflow must be one of backup, restore-verify, (.+, )?not "etcd-backup"/);
  });

  it('rejects `config` without a subcommand and an unknown subcommand', async () => {
    // Act
    const bare = await run(['config']);
    const unknown = await run(['config', 'show']);

    // Assert
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('config: missing subcommand');
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('config: unknown subcommand "show"');
  });

  it('prints the overview on stderr and exits 2 when no command is given', async () => {
    // Act
    const out = await run([]);

    // Assert
    expect(out.code).toBe(2);
    expect(out.stderr).toContain('Usage: caretaker <command>');
  });
});
