import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  renderWorkflowContracts,
  withWorkflowContracts,
} from '../../../functions/shared/workflows/contracts-md';
import { WORKFLOWS } from '../../../functions/shared/workflows';

const CONTRACTS = join(__dirname, '../../../docs/contracts.md');

describe('docs/contracts.md', () => {
  it('holds the workflows section exactly as the registry renders it (npm run docs rewrites it)', () => {
    // Arrange
    const markdown = readFileSync(CONTRACTS, 'utf8');

    // Act
    const regenerated = withWorkflowContracts(markdown);

    // Assert
    expect(markdown).toContain(renderWorkflowContracts());
    expect(regenerated).toBe(markdown);
  });

  it('names, in the Lambda table, only substitutions the registry maps to that same function', () => {
    // Arrange
    const markdown = readFileSync(CONTRACTS, 'utf8');
    const registry = new Map<string, string>(
      WORKFLOWS.flatMap((w) => Object.entries<string>(w.substitutions)),
    );

    // Act
    const rows = [...markdown.matchAll(/^\|\s*([a-z0-9-]+)\s*\|\s*`\$\{([A-Za-z0-9_]+)\}`/gm)].map(
      (m) => [m[2]!, m[1]!] as const,
    );

    // Assert
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.filter(([substitution, fn]) => registry.get(substitution) !== fn)).toEqual([]);
  });

  it('fails the comparison when the registry changes and the file does not', () => {
    // Arrange
    const markdown = readFileSync(CONTRACTS, 'utf8');
    const stale = markdown.replace('| `${PickMemberFunctionArn}` | pick-member |', '');

    // Act
    const regenerated = withWorkflowContracts(stale);

    // Assert
    expect(regenerated).not.toBe(stale);
    expect(regenerated).toBe(markdown);
  });
});
