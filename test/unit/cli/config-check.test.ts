import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { configDir, run } from './harness';

const REPO = join(__dirname, '../../..');
const EXAMPLE = join(REPO, 'caretaker.config.example.json');

describe('caretaker config check', () => {
  it('prints every cluster of the example with its defaults resolved', async () => {
    // Act
    const out = await run(['config', 'check', EXAMPLE]);

    // Assert
    expect(out.code).toBe(0);
    expect(out.stderr).toBe('');
    const lines = out.stdout.split('\n');
    expect(lines[0]).toBe(`${EXAMPLE}: 3 clusters, valid`);
    expect(lines[2]).toMatch(/^NAME\s+KIND\s+REGION\s+SCHEDULE\s+RETENTION\s+ETCD$/);
    expect(lines[3]).toMatch(
      /^prod-eu\s+kubeadm\s+eu-west-1\s+rate\(1 hour\)\s+last 6, 24h 7d 4w 6m\s+crictl :2379$/,
    );
    expect(lines[4]).toMatch(
      /^edge\s+kubespray\s+eu-west-1\s+cron\(15 \*\/4 \* \* \? \*\) Europe\/Berlin\s+last 3, 0h 14d 8w 12m\s+host :2379$/,
    );
    expect(lines[5]).toMatch(
      /^kops-eu\s+kops\s+eu-west-1\s+rate\(1 hour\)\s+last 6, 24h 7d 4w 6m\s+crictl :4001$/,
    );
  });

  it('shows an EKS cluster without a schedule or etcd access', async () => {
    // Arrange
    const { file } = configDir({
      clusters: [{ name: 'managed', kind: 'eks', region: 'us-east-2', backup: { enabled: false } }],
    });

    // Act
    const out = await run(['config', 'check', file]);

    // Assert
    expect(out.code).toBe(0);
    expect(out.stdout).toMatch(/managed\s+eks\s+us-east-2\s+off\s+-\s+managed by AWS/);
  });

  it('reads ./caretaker.config.json when no file is named, as synth does', async () => {
    // Arrange
    const { dir, file } = configDir();

    // Act
    const out = await run(['config', 'check'], { cwd: dir });

    // Assert
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`${file}: 3 clusters, valid`);
  });

  it('prefers $CARETAKER_CONFIG over ./caretaker.config.json', async () => {
    // Arrange
    const { dir } = configDir();

    // Act
    const out = await run(['config', 'check'], { cwd: dir, env: { CARETAKER_CONFIG: EXAMPLE } });

    // Assert
    expect(out.code).toBe(0);
    expect(out.stdout).toContain(`${EXAMPLE}: 3 clusters, valid`);
  });

  it('falls back to the example with a warning when the directory has no configuration', async () => {
    // Arrange
    const dir = mkdtempSync(join(tmpdir(), 'caretaker-cli-'));
    copyFileSync(EXAMPLE, join(dir, 'caretaker.config.example.json'));

    // Act
    const out = await run(['config', 'check'], { cwd: dir });

    // Assert
    expect(out.code).toBe(0);
    expect(out.stderr).toBe(
      'caretaker: no caretaker.config.json here; using caretaker.config.example.json\n',
    );
    expect(out.stdout).toContain('3 clusters, valid');
  });

  it('fails with exit 1 and one line per problem, naming the cluster and the field', async () => {
    // Arrange
    const { file } = configDir({
      clusters: [
        { name: 'Prod-EU', kind: 'kubeadm', region: 'eu-west-1' },
        { name: 'edge', kind: 'kubeadm', region: 'eu-west-1', backup: { schedule: 'every hour' } },
      ],
    });

    // Act
    const out = await run(['config', 'check', file]);

    // Assert
    expect(out.code).toBe(1);
    expect(out.stdout).toBe('');
    expect(out.stderr).toContain('invalid Caretaker configuration');
    expect(out.stderr).toContain('  clusters[0] (Prod-EU).name: must be a DNS label');
    expect(out.stderr).toContain('  clusters[1] (edge).backup.schedule: must be rate(N unit) or cron(');
  });

  it('fails with exit 1 when the file is not JSON', async () => {
    // Arrange
    const { file } = configDir('{"clusters": [');

    // Act
    const out = await run(['config', 'check', file]);

    // Assert
    expect(out.code).toBe(1);
    expect(out.stderr).toContain(`caretaker: ${file}: `);
  });

  it('rejects a file that is not JSON with a hint this command accepts, not --config', async () => {
    // Arrange
    const { file } = configDir('{"clusters": [');

    // Act
    const out = await run(['config', 'check', file]);

    // Assert
    expect(out.stderr).toContain("(name the file with 'caretaker config check FILE' or CARETAKER_CONFIG)");
    expect(out.stderr).not.toContain('--config');
  });

  it('fails with exit 1 when the named file does not exist', async () => {
    // Act
    const out = await run(['config', 'check', '/nonexistent/caretaker.json']);

    // Assert
    expect(out.code).toBe(1);
    expect(out.stderr).toBe('caretaker: /nonexistent/caretaker.json: no such file\n');
  });
});
