import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HELD_BY_PODS_CAP, inventoryList } from '../../../functions/shared/domain/commands/node-inventory';
import { SSM_DOCUMENTS_DIR } from '../../../sandbox/run-script';
import { kubernetesBinaries } from '../../../sandbox/kubernetes';

/**
 * node-inventory's list builder (ssm-documents/lib/inventory.sh) on 5,000 Nodes: the real
 * kubectl renders the same go template it uses on a node (offline, `annotate --local`, one
 * object at a time) and the script's bash turns the lines into the JSON array.
 */
const NODES = 5000;
let dir: string;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'caretaker-inventory-json-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function node(i: number): Record<string, unknown> {
  const name = `ip-10-0-${Math.floor(i / 250)}-${i % 250}.eu-west-1.compute.internal`;
  const cordoned = i % 7 === 0;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      labels: { 'kubernetes.io/hostname': name, 'topology.kubernetes.io/zone': `eu-west-1${'abc'[i % 3]}` },
      annotations: {
        'node.alpha.kubernetes.io/ttl': '0',
        'caretaker.io/patched-at': '2026-11-01T00:00:00Z',
        ...(cordoned ? { 'caretaker.io/cordoned-by': 'patch-workers-run-1' } : {}),
      },
    },
    spec: {
      // one node with no provider id at all, one from another cloud
      ...(i === 1
        ? {}
        : {
            providerID:
              i === 2
                ? 'gce://project/zone/n2'
                : `aws:///eu-west-1${'abc'[i % 3]}/i-${i.toString(16).padStart(17, '0')}`,
          }),
      ...(cordoned ? { unschedulable: true } : {}),
    },
    status: {
      conditions: [
        { type: 'MemoryPressure', status: 'False', lastTransitionTime: '2026-11-29T09:00:00Z' },
        {
          type: 'Ready',
          status: i % 11 === 0 ? 'Unknown' : 'True',
          lastTransitionTime: '2026-11-29T10:00:00Z',
        },
      ],
      nodeInfo: { bootID: `b00t-${i}`, kubeletVersion: 'v1.37.2' },
    },
  };
}

it('turns 5,000 Nodes into the compact JSON list node-inventory uploads', () => {
  const list = join(dir, 'nodes.json');
  writeFileSync(
    list,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'List',
      items: Array.from({ length: NODES }, (_, i) => node(i)),
    }),
  );
  const first = 'ip-10-0-0-0.eu-west-1.compute.internal';
  // 25 pods on the first node (more than the cap), one on the third
  const pods = [
    ...Array.from({ length: 25 }, (_, i) => `${first}\tbatch/job-${i}`),
    'ip-10-0-0-3.eu-west-1.compute.internal\tbatch/report-0',
  ];
  writeFileSync(join(dir, 'pods'), `${pods.join('\n')}\n`);
  const libs = ['common', 'kubectl', 'inventory'].map(
    (l) => `. ${join(SSM_DOCUMENTS_DIR, 'lib', `${l}.sh`)}`,
  );
  const script = [
    'set -euo pipefail',
    ...libs,
    // the template of `kubectl get nodes`, applied to one Node at a time
    `"$KUBECTL" annotate --local -f "$DIR/nodes.json" caretaker-test=1 -o "go-template=$(go_template "\${NODE_ENTRY_DEFINE}<%template \\"node\\" .%>")" >"$DIR/lines"`,
    `index_holding_pods "$DIR/pods" ${HELD_BY_PODS_CAP}`,
    'inventory_json "$DIR/lines" >"$DIR/inventory.json"',
    'echo "$inventory_count"',
  ].join('\n');
  const started = Date.now();

  const count = execFileSync('bash', ['-c', script], {
    env: { PATH: process.env.PATH ?? '', KUBECTL: kubernetesBinaries().kubectl, DIR: dir },
    encoding: 'utf8',
  });
  process.stdout.write(`node-inventory list of ${NODES} nodes built in ${Date.now() - started} ms\n`);

  const entries = inventoryList.parse(JSON.parse(readFileSync(join(dir, 'inventory.json'), 'utf8')));
  expect(Number(count.trim())).toBe(NODES);
  expect(entries).toHaveLength(NODES);
  expect(entries[0]).toEqual({
    name: first,
    providerID: 'aws:///eu-west-1a/i-00000000000000000',
    instanceId: 'i-00000000000000000',
    availabilityZone: 'eu-west-1a',
    labels: { 'kubernetes.io/hostname': first, 'topology.kubernetes.io/zone': 'eu-west-1a' },
    annotations: {
      'caretaker.io/patched-at': '2026-11-01T00:00:00Z',
      'caretaker.io/cordoned-by': 'patch-workers-run-1',
    },
    unschedulable: true,
    cordonedBy: 'patch-workers-run-1',
    ready: false,
    bootID: 'b00t-0',
    kubeletVersion: 'v1.37.2',
    heldByPods: Array.from({ length: HELD_BY_PODS_CAP }, (_, i) => `batch/job-${i}`),
  });
  expect(entries[1]).toMatchObject({ providerID: '', instanceId: '', availabilityZone: '', ready: true });
  expect(entries[2]).toMatchObject({
    providerID: 'gce://project/zone/n2',
    instanceId: '',
    availabilityZone: '',
  });
  expect(entries[3]).toMatchObject({
    unschedulable: false,
    ready: true,
    readySince: '2026-11-29T10:00:00Z',
    heldByPods: ['batch/report-0'],
  });
  expect(entries[3]!.cordonedBy).toBeUndefined();
  expect(entries.filter((e) => e.unschedulable)).toHaveLength(Math.ceil(NODES / 7));
}, 60_000);
