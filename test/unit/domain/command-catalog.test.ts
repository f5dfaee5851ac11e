import { join } from 'node:path';
import {
  COMMAND_NAMES,
  COMMANDS,
  commandDeadlineSeconds,
  findCommand,
  parseCommandArgs,
  planCommand,
  taskTimeoutSeconds,
} from '../../../functions/shared/domain/commands';
import { parseConfig } from '../../../functions/shared/domain/config';
import { SNAPSHOT_KEY_PATTERN } from '../../../functions/shared/domain/snapshot-key';
import { RESTORE_KEY_PATTERN } from '../../../functions/shared/domain/commands/etcd-restore-verify';
import { InvalidInputError } from '../../../functions/shared/errors';
import { documentTimeoutSeconds, loadCommandDocuments } from '../../../infra/ssm-documents';

const documents = new Map(
  loadCommandDocuments(join(__dirname, '../../../ssm-documents')).map((d) => [d.name, d]),
);
const timeoutOf = (name: string) => documentTimeoutSeconds(documents.get(name)!);
const [kubeadm] = parseConfig({
  clusters: [{ name: 'prod-eu', kind: 'kubeadm', region: 'eu-west-1' }],
}).clusters;
const ARGS: Record<string, unknown> = {
  'etcd-restore-verify': { key: 'prod-eu/etcd/2026/11/25/20261125T060041Z-r48219.db' },
  'etcd-maintenance': { action: 'defrag' },
  'control-plane-upgrade': { version: 'v1.37.2', phase: 'apply' },
  'kubelet-upgrade': { version: 'v1.37.2' },
  'control-plane-check': { node: 'ip-10-0-1-12.eu-west-1.compute.internal', version: 'v1.37.2' },
  'node-inventory': { key: 'prod-eu/patch/exec-1/inventory.json', podSelector: 'app=batch' },
  'node-cordon': { node: 'ip-10-0-1-23.eu-west-1.compute.internal', action: 'cordon', owner: 'patch-exec-1' },
  'node-drain': {
    node: 'worker-1',
    timeoutSeconds: 3600,
    gracePeriodSeconds: -1,
    deleteEmptyDirData: true,
    disableEviction: false,
  },
  'node-status': { node: 'worker-1' },
  'node-record': {
    node: 'worker-1',
    patchedAt: '2026-11-30T13:05:00.000Z',
    packages: 12,
    summary: 'apt:security:openssl,curl',
    owner: 'arn:aws:states:eu-west-1:123456789012:execution:caretaker-patch-workers:w-2026-11-30',
  },
  'os-patch': { scope: 'security', reboot: 'if-required' },
  'os-patch-baseline': { reboot: 'if-required' },
};

describe('the command catalog', () => {
  it('has one document for every command and one command for every document', () => {
    expect([...documents.keys()].sort()).toEqual([...COMMAND_NAMES].sort());
  });

  it.each(COMMAND_NAMES)("%s: its execution timeout is the document's timeoutSeconds", (name) => {
    expect(COMMANDS[name].executionTimeoutSeconds).toBe(timeoutOf(name));
  });

  it.each(COMMAND_NAMES)(
    "%s: its Task outlasts delivery, execution and the reconciler's deadline",
    (name) => {
      const spec = COMMANDS[name];

      expect(commandDeadlineSeconds(spec)).toBeGreaterThan(
        spec.deliveryTimeoutSeconds + spec.executionTimeoutSeconds,
      );
      expect(taskTimeoutSeconds(spec)).toBeGreaterThan(commandDeadlineSeconds(spec));
    },
  );

  it.each(COMMAND_NAMES)(
    '%s: plans exactly the parameters its document declares, each matching its allowedPattern',
    (name) => {
      const doc = documents.get(name)!;

      const plan = planCommand(
        name,
        kubeadm!,
        { executionId: 'arn:aws:states:x', bucket: 'snaps' },
        ARGS[name],
      );

      const required = Object.entries(doc.parameters)
        .filter(([, p]) => p.default === undefined)
        .map(([k]) => k);
      expect(Object.keys(plan.parameters).sort()).toEqual(expect.arrayContaining(required.sort()));
      for (const [k, v] of Object.entries(plan.parameters)) {
        expect(Object.keys(doc.parameters)).toContain(k);
        expect(v).toMatch(new RegExp(doc.parameters[k]!.allowedPattern));
      }
    },
  );

  it("accepts as a snapshot key exactly what etcd-restore-verify's Key parameter allows", () => {
    // a Caretaker snapshot key, or (kops) an etcd-manager backup in the state store
    expect(documents.get('etcd-restore-verify')!.parameters['Key']!.allowedPattern).toBe(RESTORE_KEY_PATTERN);
    expect(RESTORE_KEY_PATTERN).toContain(SNAPSHOT_KEY_PATTERN.slice(1, -1));
  });

  it('finds only its own commands, not inherited properties', () => {
    expect(findCommand('constructor')).toBeUndefined();
    expect(findCommand('toString')).toBeUndefined();
    expect(findCommand('etcd-status')?.name).toBe('etcd-status');
  });

  it("rejects a restore of another cluster's snapshot, naming the field", () => {
    const spec = COMMANDS['etcd-restore-verify'];

    const parse = () =>
      parseCommandArgs(spec, 'prod-eu', { key: 'lab/etcd/2026/11/25/20261125T060041Z-r48219.db' });

    expect(parse).toThrow(InvalidInputError);
    expect(parse).toThrow(/args\.key: .* is not a snapshot key of prod-eu/);
  });

  it('rejects a revision with more digits than the document allows', () => {
    const key = `prod-eu/etcd/2026/11/25/20261125T060041Z-r${'9'.repeat(20)}.db`;

    expect(() => parseCommandArgs(COMMANDS['etcd-restore-verify'], 'prod-eu', { key })).toThrow(
      /args\.key: must be a snapshot key/,
    );
  });
});
