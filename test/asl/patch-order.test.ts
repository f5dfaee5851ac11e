/**
 * The order patch-workers starts nodes in, across two runs through the real ASL: the first run has
 * no recorded durations; record-patch writes each node's (`seconds=` in its patch summary, onto the
 * EC2 tag and, through node-record, the Node annotation the inventory reads back), and the next
 * run's plan starts the longest node first.
 */
import { PatchWorld } from './patch-world';

const LAST_MONTH = 'patch-workers-prod-eu-20261129T020000Z';
const THIS_MONTH = 'patch-workers-prod-eu-20261227T020000Z';

/** the nodes the run cordoned, in the order it cordoned them */
const cordonOrder = (w: PatchWorld, owner: string) =>
  w.sent
    .filter((c) => c.command === 'node-cordon' && c.args['action'] === 'cordon' && c.args['owner'] === owner)
    .map((c) => c.node);

describe('patch-workers node order', () => {
  it('records each node’s patch duration and starts the longest first on the next run', async () => {
    const w = new PatchWorld({ workers: 4, patching: { maxUnavailable: 1 } });
    const names = [...w.nodes.keys()];
    // zones a, b, c, a; one node at a time, so the clock moves only while a node patches
    const minutes = new Map(names.map((n, i) => [n, [5, 40, 12, 25][i]!]));
    const byInstance = new Map([...w.nodes.values()].map((n) => [n.instanceId, minutes.get(n.name)!]));
    w.onCommand = (c, world) => {
      // os-patch runs on the worker itself: its args name no node
      if (c.command === 'os-patch')
        world.now = new Date(world.now.getTime() + byInstance.get(c.instanceId)! * 60_000);
    };

    const first = await w.run({}, { executionName: LAST_MONTH });
    expect([first.status, first.error]).toEqual(['SUCCEEDED', undefined]);
    // nothing recorded yet: never patched, by name, spread over zones
    expect(cordonOrder(w, LAST_MONTH)).toEqual([names[0], names[1], names[2], names[3]]);
    for (const [name, m] of minutes) {
      const n = w.nodes.get(name)!;
      expect(n.annotations['caretaker.io/patch-summary']).toMatch(new RegExp(`,seconds=${m * 60}$`));
      expect(w.tags.get(n.instanceId)!['caretaker:patch-summary']).toMatch(new RegExp(`,seconds=${m * 60}$`));
    }

    // a month later, the same Sunday window
    w.now = new Date('2026-12-27T02:30:00.000Z');
    const second = await w.run({}, { executionName: THIS_MONTH });
    expect([second.status, second.error]).toEqual(['SUCCEEDED', undefined]);
    // 40, 25, 12, 5 minutes: longest first (zone a's 25 still goes in the first round of zones)
    expect(cordonOrder(w, THIS_MONTH)).toEqual([names[1], names[3], names[2], names[0]]);
    const plan = JSON.parse(
      w.store.objects.get([...w.store.objects.keys()].find((k) => k.endsWith(`/${THIS_MONTH}/plan.json`))!)!
        .body,
    ) as { node: string; lastPatchSeconds?: number }[];
    expect(plan.map((i) => i.lastPatchSeconds)).toEqual([2400, 1500, 720, 300]);
  });
});
