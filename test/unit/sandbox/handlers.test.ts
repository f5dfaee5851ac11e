import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { WORKFLOWS } from '../../../functions/shared/workflows';
import { sandboxFunctions, sandboxHandlers } from '../../../sandbox/handlers';

describe("the sandbox's handler table", () => {
  it('has a real handler for every function a registry workflow names, and for complete-command', () => {
    // Arrange
    // a substitution may name a workflow (a nested execution's state machine), not a function
    const named = new Set(
      WORKFLOWS.flatMap((w) => Object.values<string>(w.substitutions)).filter(
        (target) => !WORKFLOWS.some((w) => w.name === target),
      ),
    );

    // Act
    const handlers = sandboxHandlers({});

    // Assert
    for (const fn of named) expect(typeof handlers[fn]).toBe('function');
    expect(typeof handlers['complete-command']).toBe('function');
    expect(Object.keys(handlers).sort()).toEqual(sandboxFunctions().sort());
  });

  it('lists only functions that have a folder under functions/', () => {
    // Act
    const missing = sandboxFunctions().filter(
      (fn) => !existsSync(join(__dirname, '../../../functions', fn, 'handler.ts')),
    );

    // Assert
    expect(missing).toEqual([]);
  });

  it('rejects a function name with no handler module', () => {
    // Act
    const build = () => sandboxHandlers({}, ['no-such-function']);

    // Assert
    expect(build).toThrow(/no-such-function/);
  });
});
