import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { CommandRequest } from '../../../functions/shared/ports';
import { LocalCommandRunner } from '../../../sandbox/fleet/command-runner';
import { NodeSet } from '../../../sandbox/fleet/nodes';
import {
  InvalidInstanceIdError,
  LocalFleet,
  type LocalNode,
  type RebootEvent,
  type StatusChangeEvent,
} from '../../../sandbox/local-fleet';

/** a tiny document whose script does what `Mode` says, and tells which boot it ran on */
const DOCUMENT = `schemaVersion: '2.2'
description: the local fleet's node lifecycle, played by a script
parameters:
  Mode:
    type: String
    allowedPattern: '^(ok|reboot-then-ok|exit-3010-then-ok|reboot-always)$'
    interpolationType: ENV_VAR
mainSteps:
  - action: aws:runShellScript
    name: lifecycle
    inputs:
      timeoutSeconds: 20
      runCommand:
        - '# replaced with node-lifecycle.sh'
`;

const SCRIPT = `#!/bin/sh
set -eu
boot=$(cat "$CARETAKER_BOOT_ID_FILE")
echo "running on boot $boot" >&2
case "$SSM_Mode" in
  reboot-then-ok)
    # idempotent as the SSM docs ask: the first boot asks for a reboot, the next one goes on
    if [ ! -e "$CARETAKER_WORK_DIR/asked-for-reboot" ]; then
      echo "$boot" > "$CARETAKER_WORK_DIR/asked-for-reboot"
      exit 194
    fi ;;
  exit-3010-then-ok)
    if [ ! -e "$CARETAKER_WORK_DIR/asked-for-reboot" ]; then
      echo "$boot" > "$CARETAKER_WORK_DIR/asked-for-reboot"
      exit 3010
    fi ;;
  reboot-always) exit 194 ;;
esac
echo "CARETAKER_RESULT {\\"bootId\\":\\"$boot\\"}"
`;

const REBOOT_MS = 150;
const CP = 'i-0c0ffee000000001';
const WORKER = 'i-0beef00000000001';

let root: string;
let documentsDir: string;
const fleets: LocalFleet[] = [];

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'caretaker-fleet-test-'));
  documentsDir = join(root, 'documents');
  mkdirSync(documentsDir);
  writeFileSync(join(documentsDir, 'node-lifecycle.yaml'), DOCUMENT);
  writeFileSync(join(documentsDir, 'node-lifecycle.sh'), SCRIPT);
});

afterEach(async () => {
  for (const f of fleets.splice(0)) await f.settle();
});

afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

function nodeSpec(
  instanceId: string,
  name: string,
  role: string,
  overrides: Partial<LocalNode> = {},
): LocalNode {
  const workDir = mkdtempSync(join(root, `${name}-work-`));
  return {
    instanceId,
    name,
    tags: { 'caretaker:role': role, 'caretaker:cluster': 'sandbox', Name: name },
    env: { CARETAKER_WORK_DIR: workDir },
    ...overrides,
  };
}

/** a fleet of one control-plane node and one worker, with every status-change event kept */
function makeFleet(extra: LocalNode[] = []) {
  const events: StatusChangeEvent[] = [];
  const reboots: RebootEvent[] = [];
  const fleet = new LocalFleet({
    nodes: [
      nodeSpec(CP, 'control-plane-1', 'control-plane'),
      nodeSpec(WORKER, 'worker-1', 'worker'),
      ...extra,
    ],
    dir: mkdtempSync(join(root, 'roots-')),
    documentsDir,
    rebootMs: REBOOT_MS,
    onStatusChange: async (e) => {
      events.push(e);
    },
  });
  fleet.onReboot((e) => reboots.push(e));
  fleets.push(fleet);
  return { fleet, events, reboots };
}

const request = (
  instanceId: string,
  mode: string,
  overrides: Partial<CommandRequest> = {},
): CommandRequest => ({
  documentName: 'node-lifecycle',
  instanceId,
  parameters: { Mode: mode },
  deliveryTimeoutSeconds: 600,
  comment: 'caretaker test',
  ...overrides,
});

const bootIdOnDisk = (fleet: LocalFleet, instanceId: string) =>
  readFileSync(fleet.nodes.get(instanceId)!.bootIdFile, 'utf8').trim();

const resultOf = (stdout: string) =>
  JSON.parse(stdout.trim().split('\n').at(-1)!.replace('CARETAKER_RESULT ', ''));

/** resolves once the event for `commandId` has been emitted */
async function ended(events: StatusChangeEvent[], commandId: string): Promise<StatusChangeEvent> {
  for (let i = 0; i < 400; i++) {
    const e = events.find((x) => x.detail['command-id'] === commandId);
    if (e) return e;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`no status-change event for ${commandId}`);
}

describe('the local fleet: exit 194', () => {
  it('reboots the node and runs the script again after the reboot, in one invocation, with a new boot id', async () => {
    // Arrange
    const { fleet, events, reboots } = makeFleet();
    const firstBoot = fleet.nodes.get(WORKER)!.bootId;

    // Act
    const { commandId } = await fleet.send(request(WORKER, 'reboot-then-ok'));
    const event = await ended(events, commandId);

    // Assert
    expect(fleet.commands).toHaveLength(1);
    const [record] = fleet.commands;
    expect(record!.runs.map((r) => r.exitCode)).toEqual([194, 0]);
    expect(record!.runs[0]!.bootId).toBe(firstBoot);
    expect(record!.runs[1]!.bootId).not.toBe(firstBoot);
    expect(resultOf(record!.invocation.stdout)).toEqual({ bootId: record!.runs[1]!.bootId });
    expect(bootIdOnDisk(fleet, WORKER)).toBe(record!.runs[1]!.bootId);
    expect(event.detail.status).toBe('Success');
    expect(events).toHaveLength(1);
    expect(reboots.map((r) => [r.phase, r.reason, r.commandId])).toEqual([
      ['down', 'exit-194', commandId],
      ['up', 'exit-194', commandId],
    ]);
  });

  it('keeps the invocation InProgress and the node ConnectionLost while it reboots', async () => {
    // Arrange: look at SSM the moment the node goes down
    const { fleet, events } = makeFleet();
    const seen: Promise<unknown>[] = [];
    fleet.onReboot((e) => {
      if (e.phase !== 'down') return;
      const commandId = fleet.commands[0]!.commandId;
      seen.push(
        fleet.getInvocation(commandId, WORKER).then((i) => i?.status),
        Promise.resolve(fleet.inventory.describeInstanceInformation([WORKER])[0]?.PingStatus),
        fleet.findManagedInstances({ 'caretaker:role': 'worker' }),
      );
    });

    // Act
    const { commandId } = await fleet.send(request(WORKER, 'reboot-then-ok'));
    await ended(events, commandId);

    // Assert
    expect(await Promise.all(seen)).toEqual(['InProgress', 'ConnectionLost', []]);
    expect(events.map((e) => e.detail.status)).toEqual(['Success']);
  });

  it("fails a script that asks for a reboot on every boot once the fleet's reboot limit is reached", async () => {
    // Arrange
    const nodes = new NodeSet({ dir: mkdtempSync(join(root, 'roots-')), rebootMs: 20 });
    nodes.add(nodeSpec(WORKER, 'worker-1', 'worker'));
    const runner = new LocalCommandRunner(nodes, { documentsDir, maxRebootsPerCommand: 2 });

    // Act
    const { commandId } = await runner.send(request(WORKER, 'reboot-always'));
    await runner.settle();

    // Assert
    const invocation = await runner.getInvocation(commandId, WORKER);
    expect(invocation?.status).toBe('Failed');
    expect(invocation?.stderr).toMatch(/after 2 reboots/);
    expect(runner.commands[0]!.runs).toHaveLength(3);
    expect(nodes.reboots.filter((r) => r.phase === 'up')).toHaveLength(2);
  });
});

describe('the local fleet: exit 3010', () => {
  it('reboots the node after a step that exits 3010 and reports success once the node is back', async () => {
    // Arrange: a host that reports the whole exit code, as a Windows node's agent sees it
    const nodes = new NodeSet({ dir: mkdtempSync(join(root, 'roots-')), rebootMs: REBOOT_MS });
    const node = nodes.add(nodeSpec(CP, 'control-plane-1', 'control-plane'));
    const firstBoot = node.bootId;
    const runner = new LocalCommandRunner(nodes, {
      documentsDir,
      runScript: async (_name, options) => ({
        exitCode: 3010,
        signal: null,
        stdout: `CARETAKER_RESULT {"bootId":"${readFileSync(options.env!.CARETAKER_BOOT_ID_FILE!, 'utf8').trim()}"}\n`,
        stderr: '',
        result: undefined,
        durationMs: 1,
      }),
    });

    const whileRebooting: Promise<unknown>[] = [];
    nodes.onReboot((e) => {
      if (e.phase === 'down') {
        whileRebooting.push(runner.getInvocation(e.commandId!, CP).then((i) => [i?.status, node.online]));
      }
    });

    // Act
    const { commandId } = await runner.send(request(CP, 'ok'));
    await runner.settle();

    // Assert
    const [record] = runner.commands;
    expect(await Promise.all(whileRebooting)).toEqual([['InProgress', false]]);
    expect(record!.runs).toHaveLength(1);
    expect(record!.invocation).toMatchObject({ status: 'Success', exitCode: 3010 });
    expect(resultOf(record!.invocation.stdout)).toEqual({ bootId: firstBoot });
    expect(nodes.reboots.map((r) => [r.phase, r.reason, r.commandId])).toEqual([
      ['down', 'exit-3010', commandId],
      ['up', 'exit-3010', commandId],
    ]);
    // the step ended after the node was back, on its new boot
    expect(record!.endedAt!).toBeGreaterThanOrEqual(nodes.reboots[1]!.at.getTime());
    expect(node.bootId).not.toBe(firstBoot);
    expect(node.online).toBe(true);
  });

  it('runs a Linux script that exits 3010 again after the reboot: its exit status arrives as 194 (3010 mod 256)', async () => {
    // Arrange
    const { fleet, events, reboots } = makeFleet();

    // Act
    const { commandId } = await fleet.send(request(CP, 'exit-3010-then-ok'));
    const event = await ended(events, commandId);

    // Assert
    const [record] = fleet.commands;
    expect(record!.runs.map((r) => r.exitCode)).toEqual([194, 0]);
    expect(reboots.map((r) => r.reason)).toEqual(['exit-194', 'exit-194']);
    expect(event.detail.status).toBe('Success');
  });
});

describe('the local fleet: a node reboots', () => {
  it('is offline in the inventory while it reboots and Online again afterwards with a new boot id', async () => {
    // Arrange
    const { fleet, reboots } = makeFleet();
    const before = bootIdOnDisk(fleet, CP);

    // Act
    const back = fleet.reboot(CP);
    const duringInventory = await fleet.findManagedInstances({ 'caretaker:role': 'control-plane' });
    const duringInformation = fleet.inventory.describeInstanceInformation([CP]);
    await back;
    const afterInventory = await fleet.findManagedInstances({ 'caretaker:role': 'control-plane' });

    // Assert
    expect(duringInventory).toEqual([]);
    expect(duringInformation).toMatchObject([{ InstanceId: CP, PingStatus: 'ConnectionLost' }]);
    expect(afterInventory.map((i) => i.instanceId)).toEqual([CP]);
    expect(fleet.inventory.describeInstanceInformation([CP])).toMatchObject([{ PingStatus: 'Online' }]);
    expect(bootIdOnDisk(fleet, CP)).not.toBe(before);
    expect(reboots.map((r) => r.phase)).toEqual(['down', 'up']);
    expect(reboots[1]).toMatchObject({ previousBootId: before, bootId: bootIdOnDisk(fleet, CP) });
    expect(reboots[1]!.at.getTime() - reboots[0]!.at.getTime()).toBeGreaterThanOrEqual(REBOOT_MS - 5);
  });
});

describe('the local fleet: commands to an offline node', () => {
  it('keeps a command to a rebooting node Pending and delivers it when the node is back', async () => {
    // Arrange
    const { fleet, events } = makeFleet();
    const back = fleet.reboot(WORKER);

    // Act
    const { commandId } = await fleet.send(request(WORKER, 'ok'));
    const whileDown = await fleet.getInvocation(commandId, WORKER);
    const runsWhileDown = fleet.commands[0]!.runs.length;
    await back;
    const event = await ended(events, commandId);

    // Assert
    expect(whileDown?.status).toBe('Pending');
    expect(runsWhileDown).toBe(0);
    expect(event.detail.status).toBe('Success');
    const [record] = fleet.commands;
    expect(record!.runs).toHaveLength(1);
    expect(record!.runs[0]!.bootId).toBe(fleet.nodes.get(WORKER)!.bootId);
    expect(record!.deliveredAt!).toBeGreaterThanOrEqual(fleet.reboots[1]!.at.getTime());
  });

  it('times out a command whose node stays offline past the delivery timeout and never runs its script', async () => {
    // Arrange
    const { fleet, events } = makeFleet();
    fleet.disconnect(WORKER);

    // Act
    const { commandId } = await fleet.send(request(WORKER, 'ok', { deliveryTimeoutSeconds: 0.2 }));
    const event = await ended(events, commandId);

    // Assert
    expect(event.detail.status).toBe('TimedOut');
    const [record] = fleet.commands;
    expect(record!.statusDetails).toBe('DeliveryTimedOut');
    expect(record!.runs).toEqual([]);
    expect(record!.deliveredAt).toBeUndefined();
  });

  it('delivers a command to a disconnected node once its agent answers again', async () => {
    // Arrange
    const { fleet, events } = makeFleet();
    fleet.disconnect(CP);
    const bootId = fleet.nodes.get(CP)!.bootId;

    // Act
    const { commandId } = await fleet.send(request(CP, 'ok'));
    await new Promise((r) => setTimeout(r, 50));
    const pending = (await fleet.getInvocation(commandId, CP))?.status;
    fleet.reconnect(CP);
    const event = await ended(events, commandId);

    // Assert
    expect(pending).toBe('Pending');
    expect(event.detail.status).toBe('Success');
    // no reboot: the same boot
    expect(fleet.commands[0]!.runs.map((r) => r.bootId)).toEqual([bootId]);
  });

  it('rejects a command to an instance SSM does not manage', async () => {
    // Arrange
    const { fleet } = makeFleet([nodeSpec('i-05c7a7c4000000001', 'scratch', 'scratch', { online: false })]);

    // Act
    const unknown = fleet.send(request('i-0000000000000dead', 'ok'));
    const neverRegistered = fleet.send(request('i-05c7a7c4000000001', 'ok'));

    // Assert
    await expect(unknown).rejects.toThrow(InvalidInstanceIdError);
    await expect(neverRegistered).rejects.toThrow(InvalidInstanceIdError);
    expect(fleet.commands).toEqual([]);
  });

  it('cancels a command still waiting for an offline node when the fleet settles', async () => {
    // Arrange
    const { fleet, events } = makeFleet();
    fleet.disconnect(WORKER);
    const { commandId } = await fleet.send(request(WORKER, 'ok'));

    // Act
    await fleet.settle();

    // Assert
    expect((await fleet.getInvocation(commandId, WORKER))?.status).toBe('Cancelled');
    expect(events).toEqual([]);
  });
});

describe('the local fleet: nodes for Kubernetes', () => {
  it('names control-plane and worker nodes with an aws:/// providerID and their boot id, and leaves scratch nodes out', async () => {
    // Arrange
    const { fleet } = makeFleet();
    await fleet.launch({
      cluster: 'sandbox',
      launchTemplate: 'sandbox-scratch',
      launchTemplateVersion: '$Default',
      tags: { 'caretaker:role': 'scratch', Name: 'scratch' },
      clientToken: 'token-1',
    });

    // Act
    const nodes = fleet.kubernetesNodes();

    // Assert
    expect(
      nodes.map(({ name, instanceId, role, providerID }) => ({ name, instanceId, role, providerID })),
    ).toEqual([
      {
        name: 'control-plane-1',
        instanceId: CP,
        role: 'control-plane',
        providerID: `aws:///eu-west-1a/${CP}`,
      },
      { name: 'worker-1', instanceId: WORKER, role: 'worker', providerID: `aws:///eu-west-1a/${WORKER}` },
    ]);
    expect(nodes[1]!.bootId).toBe(bootIdOnDisk(fleet, WORKER));
    const [worker] = await fleet.findManagedInstances({ 'caretaker:role': 'worker' });
    expect(worker).toMatchObject({ instanceId: WORKER, name: 'worker-1', availabilityZone: 'eu-west-1a' });
  });

  it('gives every node its own boot id file, named to its scripts by CARETAKER_BOOT_ID_FILE', () => {
    // Arrange
    const { fleet } = makeFleet();

    // Act
    const [cp, worker] = [fleet.nodes.get(CP)!, fleet.nodes.get(WORKER)!];

    // Assert
    expect(cp.env.CARETAKER_BOOT_ID_FILE).toBe(cp.bootIdFile);
    expect(cp.bootIdFile).toMatch(/proc\/sys\/kernel\/random\/boot_id$/);
    expect(cp.bootIdFile).not.toBe(worker.bootIdFile);
    expect(bootIdOnDisk(fleet, CP)).toBe(cp.bootId);
    expect(cp.bootId).not.toBe(worker.bootId);
  });
});

describe('the local fleet: restore-verify ports on scratch nodes', () => {
  /** a document with etcd-restore-verify's port parameters and their real defaults */
  const PORTS_DOCUMENT = `schemaVersion: '2.2'
description: the restore ports a scratch node gets
parameters:
  ClientPort:
    type: String
    default: '23790'
    allowedPattern: '^[0-9]{1,5}$'
    interpolationType: ENV_VAR
  PeerPort:
    type: String
    default: '23800'
    allowedPattern: '^[0-9]{1,5}$'
    interpolationType: ENV_VAR
mainSteps:
  - action: aws:runShellScript
    name: ports
    inputs:
      timeoutSeconds: 20
      runCommand:
        - '# replaced with restore-ports.sh'
`;
  const PORTS_SCRIPT = `#!/bin/sh
echo "CARETAKER_RESULT {\\"client\\":\\"$SSM_ClientPort\\",\\"peer\\":\\"$SSM_PeerPort\\"}"
`;

  beforeAll(() => {
    writeFileSync(join(documentsDir, 'restore-ports.yaml'), PORTS_DOCUMENT);
    writeFileSync(join(documentsDir, 'restore-ports.sh'), PORTS_SCRIPT);
  });

  const portsRequest = (instanceId: string, parameters: Record<string, string> = {}): CommandRequest => ({
    documentName: 'restore-ports',
    instanceId,
    parameters,
    deliveryTimeoutSeconds: 600,
    comment: 'caretaker test',
  });

  const launchScratch = (fleet: LocalFleet, token: string) =>
    fleet.launch({
      cluster: 'sandbox',
      launchTemplate: 'sandbox-scratch',
      launchTemplateVersion: '$Default',
      tags: { 'caretaker:role': 'scratch', 'caretaker:cluster': 'sandbox', Name: 'scratch' },
      clientToken: token,
    });

  /** whether the port can be listened on at 127.0.0.1 right now */
  const isFree = (port: number) =>
    new Promise<boolean>((resolve) => {
      const server = createServer();
      server.once('error', () => resolve(false));
      server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
    });

  it('gives each scratch node, in every fleet of the process, its own free ClientPort, PeerPort and PeerPort+1 instead of the document defaults', async () => {
    // Arrange: two sandboxes at once
    const one = makeFleet().fleet;
    const two = makeFleet().fleet;
    const scratch = [
      { fleet: one, ...(await launchScratch(one, 'token-a')) },
      { fleet: one, ...(await launchScratch(one, 'token-b')) },
      { fleet: two, ...(await launchScratch(two, 'token-a')) },
    ];

    // Act
    for (const s of scratch) await s.fleet.send(portsRequest(s.instanceId));
    await Promise.all([one.settle(), two.settle()]);

    // Assert
    const ports = [...one.commands, ...two.commands].map((c) => ({
      client: Number(c.parameters.ClientPort),
      peer: Number(c.parameters.PeerPort),
    }));
    const all = ports.flatMap((p) => [p.client, p.peer, p.peer + 1]);
    expect(ports).toHaveLength(3);
    expect(all).not.toContain(23790);
    expect(all).not.toContain(23800);
    expect(new Set(all).size).toBe(all.length);
    for (const port of all) expect(await isFree(port)).toBe(true);
  });

  it('keeps ports SendCommand names, and the document defaults on nodes that are not scratch', async () => {
    // Arrange
    const { fleet } = makeFleet();
    const { instanceId } = await launchScratch(fleet, 'token-c');

    // Act
    await fleet.send(portsRequest(instanceId, { ClientPort: '24000', PeerPort: '24010' }));
    await fleet.send(portsRequest(CP));
    await fleet.settle();

    // Assert
    expect(fleet.commands.map((c) => c.parameters)).toEqual([
      { ClientPort: '24000', PeerPort: '24010' },
      { ClientPort: '23790', PeerPort: '23800' },
    ]);
  });

  it('plays the port parameters etcd-restore-verify really declares', () => {
    const document = readFileSync(join(__dirname, '../../../ssm-documents/etcd-restore-verify.yaml'), 'utf8');

    expect(document).toMatch(/^ {2}ClientPort:$/m);
    expect(document).toMatch(/^ {2}PeerPort:$/m);
  });
});

describe('the local fleet: a node that does not come back', () => {
  it('keeps the invocation InProgress while the node stays down, and finishes it once the node is brought back', async () => {
    // Arrange
    const { fleet, events, reboots } = makeFleet();
    fleet.stayDownOnReboot(WORKER);

    // Act
    const { commandId } = await fleet.send(request(WORKER, 'reboot-then-ok'));
    await new Promise((r) => setTimeout(r, REBOOT_MS * 4));
    const whileDown = {
      invocation: (await fleet.getInvocation(commandId, WORKER))?.status,
      online: fleet.node(WORKER).online,
      phases: reboots.map((r) => r.phase),
    };
    fleet.bringBack(WORKER);
    const event = await ended(events, commandId);

    // Assert
    expect(whileDown).toEqual({ invocation: 'InProgress', online: false, phases: ['down'] });
    expect(event.detail.status).toBe('Success');
    expect(reboots.map((r) => r.phase)).toEqual(['down', 'up']);
    expect(reboots[1]!.bootId).toBe(fleet.node(WORKER).bootId);
  });

  it('cancels the invocation of a node still down when the fleet stops', async () => {
    const { fleet } = makeFleet();
    fleet.stayDownOnReboot(WORKER);
    const { commandId } = await fleet.send(request(WORKER, 'reboot-then-ok'));
    await new Promise((r) => setTimeout(r, REBOOT_MS * 3));

    await fleet.settle();

    expect((await fleet.getInvocation(commandId, WORKER))?.status).toBe('Cancelled');
  });

  it('refuses to bring back a node that is not down', () => {
    const { fleet } = makeFleet();

    expect(() => fleet.bringBack(WORKER)).toThrow(/is not down after a reboot/);
  });
});

describe('the local fleet: node roots', () => {
  it('names each node its root, and empties /run and /var/run on every boot, as tmpfs is', async () => {
    const { fleet, events } = makeFleet();
    const node = fleet.node(WORKER);
    mkdirSync(join(node.root, 'var', 'run'), { recursive: true });
    writeFileSync(join(node.root, 'var', 'run', 'reboot-required'), '*** System restart required ***\n');
    mkdirSync(join(node.root, 'etc'), { recursive: true });
    writeFileSync(join(node.root, 'etc', 'os-release'), 'ID=debian\n');

    const { commandId } = await fleet.send(request(WORKER, 'reboot-then-ok'));
    await ended(events, commandId);

    expect(node.env.CARETAKER_NODE_ROOT).toBe(node.root);
    expect(existsSync(join(node.root, 'var', 'run', 'reboot-required'))).toBe(false);
    expect(readFileSync(join(node.root, 'etc', 'os-release'), 'utf8')).toBe('ID=debian\n');
  });

  it("fails a document that runs one of AWS's own documents: those exist only in AWS", async () => {
    const dir = mkdtempSync(join(root, 'aws-docs-'));
    writeFileSync(
      join(dir, 'baseline.yaml'),
      DOCUMENT.replace(
        'mainSteps:\n',
        'mainSteps:\n  - action: aws:runDocument\n    name: install\n    inputs:\n      documentType: SSMDocument\n      documentPath: AWS-RunPatchBaseline\n',
      ),
    );
    writeFileSync(join(dir, 'baseline.sh'), SCRIPT);
    const nodes = new NodeSet({ dir: mkdtempSync(join(root, 'roots-')), rebootMs: 20 });
    nodes.add(nodeSpec(WORKER, 'worker-1', 'worker'));
    const finished: string[] = [];
    const runner = new LocalCommandRunner(nodes, {
      documentsDir: dir,
      afterCommand: (r) => finished.push(r.commandId),
    });

    const { commandId } = await runner.send(request(WORKER, 'ok', { documentName: 'baseline' }));
    await runner.settle();

    const invocation = await runner.getInvocation(commandId, WORKER);
    expect(finished).toEqual([commandId]);
    expect(invocation).toMatchObject({ status: 'Failed', exitCode: -1 });
    expect(invocation?.stderr).toMatch(
      /runs only aws:runShellScript steps; baseline also runs aws:runDocument AWS-RunPatchBaseline/,
    );
  });
});

describe('the local fleet: package managers', () => {
  it('keeps what the stand-in reads and records under the node root', () => {
    const { fleet } = makeFleet();
    const packages = fleet.node(WORKER).packages;

    packages.setFlavor('suse').offer([{ name: 'openssl' }, { name: 'vim', security: false, version: '9.1' }]);
    packages.leaveRebootRequired().failAfter(2);

    const state = join(fleet.node(WORKER).root, 'var', 'lib', 'pkg-stand-in');
    expect(readFileSync(join(fleet.node(WORKER).root, 'etc', 'os-release'), 'utf8')).toMatch(/^ID="sles"$/m);
    expect(readFileSync(join(state, 'updates'), 'utf8')).toBe('openssl security 1.0.1\nvim regular 9.1\n');
    expect(readFileSync(join(state, 'fail-after'), 'utf8')).toBe('2');
    expect(existsSync(join(state, 'reboot-after-install'))).toBe(true);
    packages.leaveRebootRequired(false).failAfter(undefined);
    expect(existsSync(join(state, 'reboot-after-install'))).toBe(false);
    expect(existsSync(join(state, 'fail-after'))).toBe(false);
    expect(packages.invocations()).toEqual([]);
    expect(packages.installed()).toEqual([]);
  });
});
