import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { ETCD_DEFAULTS } from '../../functions/shared/domain/config';
import { loadCommandDocument } from '../../infra/ssm-documents';
import { SSM_DOCUMENTS_DIR } from '../../sandbox/run-script';

/** the shape of a Caretaker SSM Command document, as far as these checks need it */
interface CommandDocument {
  schemaVersion: string;
  description: string;
  parameters: Record<
    string,
    { type: string; description: string; allowedPattern: string; interpolationType: string; default?: string }
  >;
  mainSteps: { action: string; name: string; inputs: { timeoutSeconds: number; runCommand: string[] } }[];
}

// every document in the folder, so a new one is checked without anyone remembering to list it
const DOCUMENTS = readdirSync(SSM_DOCUMENTS_DIR)
  .filter((f) => f.endsWith('.yaml'))
  .map((f) => f.slice(0, -'.yaml'.length))
  .sort();

function load(name: string): { doc: CommandDocument; script: string } {
  return {
    doc: parse(readFileSync(join(SSM_DOCUMENTS_DIR, `${name}.yaml`), 'utf8')) as CommandDocument,
    // what the SSM agent runs: the .sh with its shared helpers (lib/*.sh) inlined
    script: loadCommandDocument(join(SSM_DOCUMENTS_DIR, `${name}.yaml`)).script,
  };
}

/** `require_param <Name> '<pattern>'` lines: the script's own copy of the document's patterns */
function scriptPatterns(script: string): Record<string, string> {
  return Object.fromEntries(
    [...script.matchAll(/^require_param (\w+) '([^']+)'$/gm)].map((m) => [m[1], m[2]]),
  );
}

/** values every installer's defaults produce (kubeadm, kubespray with {hostname}, kops) */
const GOOD: Record<string, string[]> = {
  EtcdPort: Object.values(ETCD_DEFAULTS).map((d) => String(d.clientPort)),
  CaFile: Object.values(ETCD_DEFAULTS).map((d) => d.caFile),
  CertFile: Object.values(ETCD_DEFAULTS).map((d) => d.certFile),
  KeyFile: Object.values(ETCD_DEFAULTS).map((d) => d.keyFile),
  EtcdctlMode: ['host', 'crictl'],
  DataDir: Object.values(ETCD_DEFAULTS).map((d) => d.dataDir),
  Cluster: ['prod-eu', 'a', 'edge-01'],
  Bucket: ['caretaker-snapshots-123456789012-eu-west-1', 'my.bucket'],
  ExecutionId: [
    'arn:aws:states:eu-west-1:123456789012:execution:caretaker-etcd-backup:2026-01-01T00-00-00Z',
    'manual',
    'slack-3f2a9c1e',
  ],
  // kube-apiserver --etcd-prefix: the default, and what people set it to
  EtcdPrefix: ['/registry', '/kubernetes.io/registry', '/registry-prod_2', '/k8s.example.com'],
};

/** documents whose script counts down its own time budget (lib/time-budget.sh) */
const BUDGETED = ['etcd-snapshot', 'etcd-status'];
/** node commands whose script counts down its own time budget; they never reach etcd */
const NODE_BUDGETED = ['node-drain', 'node-inventory', 'os-patch'];

/** an aws:runDocument step: runs another (AWS-owned) document */
interface RunDocumentStep {
  action: string;
  name: string;
  inputs: { documentType: string; documentPath: string; documentParameters?: Record<string, string> };
}

const SHELL_METACHARACTERS = [';', '$(', '`', ' ', '\n', '|', '&', '>', '<', '"', "'", '\\', '*'];

describe.each(DOCUMENTS)('ssm-documents/%s', (name) => {
  const { doc, script } = load(name);
  const params = Object.entries(doc.parameters);

  it('is a schema 2.2 Command document whose last step is the one aws:runShellScript step infra fills in', () => {
    expect(doc.schemaVersion).toBe('2.2');
    expect(doc.description.length).toBeGreaterThan(20);
    const step = doc.mainSteps.at(-1);
    expect(step).toMatchObject({ action: 'aws:runShellScript', name: expect.stringMatching(/^\w+$/) });
    expect(step?.inputs.timeoutSeconds).toBeGreaterThan(0);
    expect(step?.inputs.runCommand).toEqual([`# replaced at synth with ${name}.sh`]);
    expect(doc.mainSteps.filter((s) => s.action === 'aws:runShellScript')).toHaveLength(1);
  });

  it('runs nothing before its script but AWS-owned documents with fixed parameters (aws:runDocument)', () => {
    for (const before of doc.mainSteps.slice(0, -1) as unknown as RunDocumentStep[]) {
      expect(before).toMatchObject({
        action: 'aws:runDocument',
        name: expect.stringMatching(/^\w+$/),
        precondition: { StringEquals: ['platformType', 'Linux'] },
        inputs: { documentType: 'SSMDocument', documentPath: expect.stringMatching(/^AWS-[A-Za-z]+$/) },
      });
      // no parameter of ours reaches it: nothing to interpolate, nothing free-form
      expect(JSON.stringify(before.inputs.documentParameters ?? {})).not.toMatch(/\{\{/);
    }
  });

  it('gives every parameter a type, a description, an anchored allowedPattern and ENV_VAR interpolation', () => {
    for (const [param, spec] of params) {
      expect({ param, type: spec.type, interpolationType: spec.interpolationType }).toEqual({
        param,
        type: 'String',
        interpolationType: 'ENV_VAR',
      });
      expect(spec.description.length).toBeGreaterThan(10);
      expect(spec.allowedPattern).toMatch(/^\^.*\$$/);
      if (spec.default !== undefined) expect(spec.default).toMatch(new RegExp(spec.allowedPattern));
    }
  });

  it('reads exactly the declared parameters, as SSM_<Name>, and never interpolates {{ }}', () => {
    const used = new Set([...script.matchAll(/\bSSM_([A-Za-z][A-Za-z0-9]*)\b/g)].map((m) => m[1]));
    expect([...used].sort()).toEqual(Object.keys(doc.parameters).sort());
    expect(script).not.toMatch(/\{\{/);
  });

  it('checks every parameter again in the script, against the same pattern', () => {
    const expected = Object.fromEntries(params.map(([param, spec]) => [param, spec.allowedPattern]));
    expect(scriptPatterns(script)).toEqual(expected);
  });

  it("falls back, where the script has a fallback, to exactly the document's default", () => {
    const fallbacks = [...script.matchAll(/^: "\$\{SSM_(\w+)=([^}]*)\}"$/gm)];
    for (const [, param, value] of fallbacks) {
      expect({ param, value }).toEqual({ param, value: doc.parameters[param!]?.default });
    }
  });

  it('accepts the defaults of every supported installer', () => {
    for (const [param, spec] of params) {
      for (const value of GOOD[param] ?? []) {
        expect({ param, value, ok: new RegExp(spec.allowedPattern).test(value) }).toEqual({
          param,
          value,
          ok: true,
        });
      }
    }
  });

  it('rejects shell metacharacters in every parameter', () => {
    for (const [param, spec] of params) {
      const base = GOOD[param]?.[0] ?? 'x';
      for (const meta of SHELL_METACHARACTERS) {
        for (const value of [`${base}${meta}reboot`, `${meta}${base}`]) {
          expect({ param, value, ok: new RegExp(spec.allowedPattern).test(value) }).toEqual({
            param,
            value,
            ok: false,
          });
        }
      }
    }
  });

  it('means the same thing to bash as to a JavaScript RegExp', () => {
    const cases = params.flatMap(([param, spec]) =>
      [
        ...(GOOD[param] ?? []),
        ...SHELL_METACHARACTERS.map((m) => `${GOOD[param]?.[0] ?? 'x'}${m}x`),
        '',
        '/{host}',
      ]
        .filter((value) => !value.includes('\n'))
        .map((value) => ({ pattern: spec.allowedPattern, value })),
    );
    // one bash for all cases: pattern and value alternate on stdin, a verdict per pair comes back
    const input = cases.map((c) => `${c.pattern}\n${c.value}\n`).join('');
    const out = execFileSync(
      'bash',
      [
        '-c',
        'while IFS= read -r re && IFS= read -r v; do if [[ $v =~ $re ]]; then echo 1; else echo 0; fi; done',
      ],
      { input, encoding: 'utf8' },
    );
    const bash = out.trim().split('\n');
    expect(bash).toEqual(cases.map((c) => (new RegExp(c.pattern).test(c.value) ? '1' : '0')));
  });
});

describe.each(DOCUMENTS)('the script SSM receives for %s', (name) => {
  const deployed = loadCommandDocument(join(SSM_DOCUMENTS_DIR, `${name}.yaml`));

  it('is self-contained: the shared helpers are inlined, nothing is sourced', () => {
    expect(deployed.script).not.toMatch(/caretaker:inline/);
    expect(deployed.script).toMatch(/^require_param\(\) \{/m);
    expect(() => execFileSync('bash', ['-n'], { input: deployed.script })).not.toThrow();
  });

  it('runs alone from a directory with nothing beside it, rejecting a missing parameter by name', () => {
    const dir = mkdtempSync(join(tmpdir(), 'caretaker-inlined-'));
    try {
      const file = join(dir, '_script.sh');
      writeFileSync(file, deployed.script);
      let stderr = '';
      try {
        execFileSync('sh', [file], {
          env: { PATH: process.env.PATH ?? '' },
          encoding: 'utf8',
          stdio: 'pipe',
        });
      } catch (e) {
        stderr = String((e as { stderr?: string }).stderr);
      }
      expect(stderr).toMatch(new RegExp(`^${name}: error: parameter \\w+ is missing`, 'm'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.each(BUDGETED)('the time budget of %s', (name) => {
  const deployed = loadCommandDocument(join(SSM_DOCUMENTS_DIR, `${name}.yaml`));
  const doc = parse(readFileSync(join(SSM_DOCUMENTS_DIR, `${name}.yaml`), 'utf8')) as CommandDocument;

  it("is the document's timeoutSeconds, so every step ends before the SSM agent kills the script", () => {
    const budgets = [...deployed.script.matchAll(/^start_time_budget (\d+)$/gm)].map((m) => Number(m[1]));
    expect(budgets).toEqual([doc.mainSteps[0]!.inputs.timeoutSeconds]);
  });

  it('starts before anything reaches etcd (every etcd call goes through bounded)', () => {
    const script = deployed.script;
    expect(script.indexOf('start_time_budget ')).toBeGreaterThan(-1);
    expect(script.indexOf('start_time_budget ')).toBeLessThan(script.indexOf('find_etcd_container ||'));
    // the only direct tool calls are the ones bounded wraps
    expect(script).not.toMatch(/^\s*(etcdctl|etcdutl|crictl) /m);
  });
});

describe.each(NODE_BUDGETED)('the time budget of %s', (name) => {
  const deployed = loadCommandDocument(join(SSM_DOCUMENTS_DIR, `${name}.yaml`));
  const doc = parse(readFileSync(join(SSM_DOCUMENTS_DIR, `${name}.yaml`), 'utf8')) as CommandDocument;

  it("is the document's timeoutSeconds, so every step ends before the SSM agent kills the script", () => {
    const budgets = [...deployed.script.matchAll(/^start_time_budget (\d+)$/gm)].map((m) => Number(m[1]));
    expect(budgets).toEqual([doc.mainSteps.at(-1)!.inputs.timeoutSeconds]);
  });
});

describe('os-patch-baseline', () => {
  const doc = parse(
    readFileSync(join(SSM_DOCUMENTS_DIR, 'os-patch-baseline.yaml'), 'utf8'),
  ) as CommandDocument;

  it('installs with AWS-RunPatchBaseline without its reboot, then runs its own reboot check', () => {
    expect(doc.mainSteps.map((s) => s.action)).toEqual(['aws:runDocument', 'aws:runShellScript']);
    expect((doc.mainSteps[0] as unknown as RunDocumentStep).inputs).toEqual({
      documentType: 'SSMDocument',
      documentPath: 'AWS-RunPatchBaseline',
      documentParameters: { Operation: 'Install', RebootOption: 'NoReboot' },
    });
  });
});
