import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { kubernetesBinaries, kwokStages } from '../../../sandbox/kubernetes';

const ORIGINAL = readFileSync(kubernetesBinaries().kwokStages, 'utf8');
const LINE = '{{ $lastTransitionTime := or .metadata.creationTimestamp $now }}';

/** the statusTemplate of one stage */
function template(stages: string, name: string): string {
  const doc = parseAllDocuments(stages)
    .map((d) => d.toJS() as { metadata?: { name?: string }; spec?: { next?: { statusTemplate?: string } } })
    .find((d) => d?.metadata?.name === name);
  return doc!.spec!.next!.statusTemplate!;
}

describe("KWOK's stages in the sandbox", () => {
  it('report a node Ready since it (re)joined, and keep that time on each heartbeat', () => {
    const stages = kwokStages(ORIGINAL);

    expect(template(stages, 'node-initialize')).toContain('{{ $lastTransitionTime := $now }}');
    expect(template(stages, 'node-heartbeat-with-lease')).toMatch(
      /\{\{ range \.status\.conditions \}\}\{\{ if eq \.type "Ready" \}\}\{\{ \$lastTransitionTime = \.lastTransitionTime \}\}/,
    );
    expect(stages).not.toContain(LINE);
    // the pod stages are KWOK's own
    expect(template(stages, 'pod-ready')).toBe(template(ORIGINAL, 'pod-ready'));
  });

  it('fails loudly when a KWOK upgrade changed the lines it replaces', () => {
    expect(() => kwokStages(ORIGINAL.replace(LINE, '{{ $x := 1 }}'))).toThrow(/no longer have/);
  });
});
