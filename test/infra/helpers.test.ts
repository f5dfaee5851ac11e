import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { backupAlarmWindow } from '../../infra/constructs/backup-alarm';
import { alarmWindow } from '../../infra/constructs/no-success-alarm';
import { checkedSubstitutions, placeholdersIn } from '../../infra/definition-substitutions';
import { loadCommandDocuments } from '../../infra/ssm-documents';

describe('loadCommandDocuments', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'caretaker-docs-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const yaml = (params: string) => `schemaVersion: '2.2'
description: test
parameters:
${params}
mainSteps:
  - action: aws:runShellScript
    name: run
    inputs:
      timeoutSeconds: 60
      runCommand:
        - 'placeholder'
`;
  const port = `  Port:
    type: String
    default: '2379'
    allowedPattern: '^[0-9]{1,5}$'
    interpolationType: ENV_VAR
`;

  it('replaces runCommand with the lines of the sibling script and keeps the rest', () => {
    writeFileSync(join(dir, 'etcd-demo.yaml'), yaml(port));
    writeFileSync(join(dir, 'etcd-demo.sh'), '#!/bin/bash\nset -eu\necho "$SSM_Port"\n');

    const [doc] = loadCommandDocuments(dir);

    expect(doc?.name).toBe('etcd-demo');
    expect(doc?.content).toMatchObject({
      schemaVersion: '2.2',
      mainSteps: [
        {
          name: 'run',
          inputs: { timeoutSeconds: 60, runCommand: ['#!/bin/bash', 'set -eu', 'echo "$SSM_Port"'] },
        },
      ],
    });
    expect(doc?.parameters.Port).toMatchObject({
      allowedPattern: '^[0-9]{1,5}$',
      interpolationType: 'ENV_VAR',
    });
  });

  it('rejects a document whose script is missing', () => {
    writeFileSync(join(dir, 'lonely.yaml'), yaml(port));
    expect(() => loadCommandDocuments(dir)).toThrow(/lonely\.yaml: its script lonely\.sh is missing/);
  });

  it('rejects a parameter without allowedPattern', () => {
    writeFileSync(
      join(dir, 'loose.yaml'),
      yaml(`  Port:\n    type: String\n    interpolationType: ENV_VAR\n`),
    );
    writeFileSync(join(dir, 'loose.sh'), 'true\n');
    expect(() => loadCommandDocuments(dir)).toThrow(/parameter Port needs an allowedPattern/);
  });

  it('rejects a parameter that would be pasted into the command text', () => {
    writeFileSync(
      join(dir, 'pasted.yaml'),
      yaml(`  Port:\n    type: String\n    allowedPattern: '^[0-9]+$'\n`),
    );
    writeFileSync(join(dir, 'pasted.sh'), 'true\n');
    expect(() => loadCommandDocuments(dir)).toThrow(/parameter Port needs interpolationType: ENV_VAR/);
  });

  it('loads the real documents with every parameter constrained', () => {
    const docs = loadCommandDocuments(join(__dirname, '..', '..', 'ssm-documents'));
    // the workflows name these commands (etcd-backup: status, snapshot; restore-verify: restore-verify)
    expect(docs.map((d) => d.name)).toEqual(
      expect.arrayContaining(['etcd-restore-verify', 'etcd-snapshot', 'etcd-status']),
    );
    for (const doc of docs) expect(Object.keys(doc.parameters).length).toBeGreaterThan(0);
  });
});

describe('checkedSubstitutions', () => {
  const asl = JSON.stringify({
    States: { A: { Resource: '${AFunctionArn}' }, B: { Resource: '${BFunctionArn}' } },
  });

  it('finds each placeholder once', () => {
    expect(placeholdersIn(asl + asl)).toEqual(['AFunctionArn', 'BFunctionArn']);
  });

  it('passes when the definition and infra agree', () => {
    expect(checkedSubstitutions('x.asl.json', asl, { AFunctionArn: 'a', BFunctionArn: 'b' })).toEqual({
      AFunctionArn: 'a',
      BFunctionArn: 'b',
    });
  });

  it('fails naming a placeholder infra does not provide', () => {
    expect(() => checkedSubstitutions('x.asl.json', asl, { AFunctionArn: 'a' })).toThrow(
      'state machine x.asl.json uses ${BFunctionArn} but infra provides no value',
    );
  });

  it('fails naming a substitution the definition never uses', () => {
    expect(() =>
      checkedSubstitutions('x.asl.json', asl, { AFunctionArn: 'a', BFunctionArn: 'b', CFunctionArn: 'c' }),
    ).toThrow('state machine x.asl.json never uses CFunctionArn that infra provides');
  });
});

describe('backupAlarmWindow', () => {
  it.each([
    [300, 300, 2],
    [3600, 3600, 2],
    [86_400, 86_400, 2],
    [3 * 86_400, 3 * 86_400, 2],
    [5 * 86_400, 86_400, 7],
    [14 * 86_400, 86_400, 7],
  ])('watches an interval of %i s with %i s periods × %i', (interval, period, periods) => {
    expect(backupAlarmWindow(interval)).toEqual({ periodSeconds: period, evaluationPeriods: periods });
  });

  it('stays within CloudWatch limits for every rate a schedule may have', () => {
    for (let minutes = 1; minutes <= 30 * 24 * 60; minutes += 7) {
      const { periodSeconds, evaluationPeriods } = backupAlarmWindow(minutes * 60);
      expect(periodSeconds % 60).toBe(0);
      expect(periodSeconds * evaluationPeriods).toBeLessThanOrEqual(periodSeconds < 3600 ? 86_400 : 604_800);
    }
  });
});

describe('alarmWindow', () => {
  it.each([
    [3600, 1800, 2],
    [48 * 3600, 86_400, 2],
    [7 * 86_400, 302_400, 2],
    [200 * 3600, 86_400, 7],
    [720 * 3600, 86_400, 7],
  ])('watches %i s with %i s periods × %i', (window, period, periods) => {
    expect(alarmWindow(window)).toEqual({ periodSeconds: period, evaluationPeriods: periods });
  });

  it('covers every alarmAfterHours within CloudWatch limits, never longer than asked', () => {
    for (let hours = 1; hours <= 720; hours++) {
      const { periodSeconds, evaluationPeriods } = alarmWindow(hours * 3600);
      expect(periodSeconds % 60).toBe(0);
      expect(periodSeconds * evaluationPeriods).toBeLessThanOrEqual(periodSeconds < 3600 ? 86_400 : 604_800);
      expect(periodSeconds * evaluationPeriods).toBeLessThanOrEqual(Math.max(hours * 3600, 2 * 60));
    }
  });
});
