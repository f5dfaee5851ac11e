import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseConfig } from '../../functions/shared/domain/config';
import { configByRegion, readConfigFile } from '../../infra/config-file';

const run = promisify(execFile);
const ROOT = join(__dirname, '..', '..');

describe('the configuration infra synthesizes', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'caretaker-config-'));
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const write = (name: string, value: unknown): string => {
    const file = join(dir, name);
    writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
    return file;
  };

  it('fails synth naming the cluster and the field when a cluster name has upper-case letters', async () => {
    const file = write('bad.json', { clusters: [{ name: 'Prod-EU', kind: 'kubeadm', region: 'eu-west-1' }] });

    const result = await run('npx', ['tsx', 'infra/app.ts'], {
      cwd: ROOT,
      env: { ...process.env, CARETAKER_CONFIG: file, CDK_OUTDIR: join(dir, 'out') },
    }).then(
      () => ({ code: 0, stderr: '' }),
      (error: { code: number; stderr: string }) => error,
    );

    expect(result.code).toBe(1);
    expect(result.stderr).toContain('clusters[0] (Prod-EU).name: must be a DNS label');
  }, 30_000);

  it('rejects a CARETAKER_CONFIG that does not exist', () => {
    expect(() => readConfigFile({ CARETAKER_CONFIG: join(dir, 'missing.json') }, dir)).toThrow(
      /does not exist/,
    );
  });

  it('rejects a file that is not JSON, naming the file', () => {
    const file = write('broken.json', '{ "clusters": [');
    expect(() => readConfigFile({ CARETAKER_CONFIG: file }, dir)).toThrow(/broken\.json/);
  });

  it('falls back to the example with a warning when there is no caretaker.config.json', () => {
    const warnings: string[] = [];
    const { file, config } = readConfigFile({}, ROOT, (m) => warnings.push(m));
    expect(file).toBe(join(ROOT, 'caretaker.config.example.json'));
    expect(config.clusters.length).toBeGreaterThan(0);
    expect(warnings).toEqual([expect.stringContaining('caretaker.config.example.json')]);
  });

  it('groups clusters by region, one stack each', () => {
    const config = parseConfig({
      clusters: [
        { name: 'a', kind: 'kubeadm', region: 'eu-west-1' },
        { name: 'b', kind: 'kops', region: 'us-east-1' },
        { name: 'c', kind: 'kubespray', region: 'eu-west-1' },
      ],
    });
    const regions = configByRegion(config);
    expect([...regions.keys()]).toEqual(['eu-west-1', 'us-east-1']);
    expect(regions.get('eu-west-1')?.clusters.map((c) => c.name)).toEqual(['a', 'c']);
  });
});
