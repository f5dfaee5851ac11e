import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NODE_STEPS, runbookSection } from '../../../functions/shared/domain/control-plane-rollout';
import { REPO_ROOT, readWorkflowText } from '../../../sandbox/asl-runner';

const RUNBOOK = 'docs/runbooks/upgrade-control-plane.md';

/** GitHub's anchor of a heading: lower case, spaces to dashes, punctuation dropped */
const anchors = new Set(
  readFileSync(join(REPO_ROOT, RUNBOOK), 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('## '))
    .map((l) =>
      l
        .slice(3)
        .trim()
        .toLowerCase()
        .replace(/[^a-z0-9 -]/g, '')
        .replace(/ /g, '-'),
    ),
);

describe('the upgrade runbook', () => {
  it('has a section for every runbook link the state machine puts in a failure message', () => {
    const linked = [
      ...readWorkflowText('upgrade-control-plane').matchAll(/upgrade-control-plane\.md#([a-z0-9-]+)/g),
    ].map((m) => m[1]!);

    expect(linked.length).toBeGreaterThan(5);
    expect(linked.filter((a) => !anchors.has(a))).toEqual([]);
  });

  it('has a section for every step the domain names', () => {
    const missing = [...NODE_STEPS, 'gate-before', 'unknown-step']
      .map((step) => runbookSection(step).split('#')[1]!)
      .filter((a) => !anchors.has(a));

    expect(missing).toEqual([]);
  });
});
