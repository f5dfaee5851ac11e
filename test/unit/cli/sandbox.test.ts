import { run } from './harness';

describe('caretaker sandbox', () => {
  it('hands every argument after `sandbox` to runSandbox and exits with its code', async () => {
    // Arrange
    const calls: string[][] = [];
    const runSandbox = async (argv: string[]) => (calls.push(argv), 3);

    // Act
    const out = await run(['sandbox', 'up', '--members', '3', '--help'], {
      loadSandbox: async () => ({ runSandbox }),
    });

    // Assert
    expect(out.code).toBe(3);
    expect(calls).toEqual([['up', '--members', '3', '--help']]);
  });

  it('fails with exit 1 when this checkout has no sandbox', async () => {
    // Act
    const out = await run(['sandbox', 'up']);

    // Assert
    expect(out.code).toBe(1);
    expect(out.stderr).toBe('caretaker: the sandbox is not available in this checkout\n');
  });
});
