import * as planNodeHandler from '../../../functions/plan-node-remediation/handler';
import { nodeInventoryKey, planNodes } from '../../../functions/plan-node-remediation/service';
import * as planRemediationHandler from '../../../functions/plan-remediation/handler';
import * as recoverNodeHandler from '../../../functions/recover-node/handler';
import { parseConfig } from '../../../functions/shared/domain/config';
import {
  planNodeRemediation,
  summarizeNodeOutcomes,
  type NodeView,
} from '../../../functions/shared/domain/remediation';
import type { NodeReplacer } from '../../../functions/shared/ports';
import { memoryStore, staticDirectory } from '../../support/fakes';
import { lambdaContext } from '../../support/lambda-context';

const node = (name: string, ready: boolean, extra: Partial<NodeView> = {}): NodeView => ({
  name,
  instanceId: `i-0${name.replace(/\D/g, '').padStart(16, '0')}`,
  ready,
  unschedulable: false,
  bootID: `${name}-boot`,
  labels: {},
  ...extra,
});
const cp = node('control-plane-1', true, {
  instanceId: 'i-0c0de000000000001',
  labels: { 'node-role.kubernetes.io/control-plane': '' },
});
const limits = { maxNodesAtOnce: 1, maxUnhealthyPercent: 30, readyTimeoutMinutes: 10 };
const fleet = (notReady: number, total: number) => [
  cp,
  ...Array.from({ length: total - 1 }, (_, i) => node(`worker-${i + 1}`, i >= notReady)),
];

describe('planNodeRemediation', () => {
  it("acts on the alarm's NotReady worker, remembering its boot id, and says what it would do", () => {
    const plan = planNodeRemediation({ nodes: fleet(1, 10), named: { node: 'worker-1' }, ...limits });

    expect(plan).toMatchObject({
      act: true,
      notReady: 1,
      total: 10,
      targets: [{ node: 'worker-1', instanceId: 'i-00000000000000001', bootID: 'worker-1-boot' }],
    });
    expect(plan.wouldDo[0]).toMatch(
      /^reboot i-00000000000000001 \(worker-1\) through EC2 and wait up to 10 min/,
    );
  });

  it('finds the node by the instance the alarm names', () => {
    const plan = planNodeRemediation({
      nodes: fleet(1, 10),
      named: { instanceId: 'i-00000000000000001' },
      ...limits,
    });
    expect(plan).toMatchObject({ act: true, targets: [{ node: 'worker-1' }] });
  });

  it('refuses by unhealthy-share when more than the share is NotReady, before anything else', () => {
    const plan = planNodeRemediation({ nodes: fleet(4, 10), named: { node: 'worker-1' }, ...limits });
    expect(plan).toMatchObject({ act: false, rule: 'unhealthy-share', notReady: 4, total: 10 });
  });

  it('counts nodes an earlier remediation left cordoned against maxNodesAtOnce', () => {
    const nodes = fleet(2, 10).map((n) =>
      n.name === 'worker-2' ? { ...n, unschedulable: true, cordonedBy: 'remediate-prod-eu-x' } : n,
    );
    expect(planNodeRemediation({ nodes, named: { node: 'worker-1' }, ...limits })).toMatchObject({
      act: false,
      rule: 'max-nodes-at-once',
    });
    expect(
      planNodeRemediation({ nodes, named: { node: 'worker-1' }, ...limits, maxNodesAtOnce: 2 }),
    ).toMatchObject({ act: true, targets: [{ node: 'worker-1' }] });
  });

  it('does not count a node someone else cordoned, nor the alarm node itself', () => {
    const nodes = fleet(2, 10).map((n) =>
      n.name === 'worker-2'
        ? { ...n, unschedulable: true, cordonedBy: 'patch-workers-prod-eu-x' }
        : n.name === 'worker-1'
          ? { ...n, unschedulable: true, cordonedBy: 'remediate-prod-eu-earlier' }
          : n,
    );
    expect(planNodeRemediation({ nodes, named: { node: 'worker-1' }, ...limits })).toMatchObject({
      act: true,
    });
  });

  it('without a named node takes the NotReady workers up to maxNodesAtOnce, never a control-plane node', () => {
    const nodes = [{ ...cp, ready: false }, ...fleet(3, 20).slice(1)];
    const plan = planNodeRemediation({ nodes, ...limits, maxNodesAtOnce: 2 });
    expect(plan).toMatchObject({ act: true, targets: [{ node: 'worker-1' }, { node: 'worker-2' }] });
  });

  it('has nothing to do when the node is Ready again, or no worker is NotReady', () => {
    expect(
      planNodeRemediation({ nodes: fleet(0, 10), named: { node: 'worker-1' }, ...limits }),
    ).toMatchObject({
      act: false,
      nothing: true,
    });
    expect(planNodeRemediation({ nodes: fleet(0, 10), ...limits })).toMatchObject({
      act: false,
      nothing: true,
    });
  });

  it('refuses a control-plane node, an unknown node and a node that is not an EC2 instance, naming the rule', () => {
    const nodes = [...fleet(1, 10), node('edge-1', false, { instanceId: '' })];
    expect(planNodeRemediation({ nodes, named: { node: 'control-plane-1' }, ...limits })).toMatchObject({
      rule: 'control-plane-node',
    });
    expect(planNodeRemediation({ nodes, named: { node: 'worker-77' }, ...limits })).toMatchObject({
      rule: 'unknown-node',
      message: expect.stringMatching(/^unknown-node: the alarm names worker-77/),
    });
    expect(planNodeRemediation({ nodes, named: { node: 'edge-1' }, ...limits })).toMatchObject({
      rule: 'not-an-ec2-instance',
    });
  });
});

describe('summarizeNodeOutcomes', () => {
  it('succeeds when every node is back or replaced', () => {
    expect(
      summarizeNodeOutcomes([
        { node: 'w1', instanceId: 'i-1', outcome: 'ready-after-reboot' },
        { node: 'w2', instanceId: 'i-2', outcome: 'replaced', group: 'asg-a', drained: true },
      ]),
    ).toEqual({
      escalate: false,
      message:
        'w1 (i-1) is Ready again after its reboot; w2 (i-2) stayed NotReady: drained and terminated in asg-a, which launches its replacement',
    });
  });

  it('escalates by no-auto-scaling-group naming every node left cordoned', () => {
    const s = summarizeNodeOutcomes([
      { node: 'w1', instanceId: 'i-1', outcome: 'no-auto-scaling-group', drained: false },
      { node: 'w2', instanceId: 'i-2', outcome: 'ready-after-reboot' },
    ]);
    expect(s).toMatchObject({ escalate: true, rule: 'no-auto-scaling-group' });
    expect(s.message).toMatch(
      /^no-auto-scaling-group: w1 left cordoned; w1 \(i-1\) stayed NotReady: left cordoned/,
    );
  });
});

describe('plan-node-remediation handler', () => {
  const clusters = staticDirectory(
    parseConfig({
      clusters: [
        { name: 'prod-eu', kind: 'kubeadm', region: 'eu-west-1', remediation: { readyTimeoutMinutes: 2 } },
        { name: 'quiet', kind: 'kubeadm', region: 'eu-west-1' },
      ],
    }).clusters,
  );
  const key = nodeInventoryKey('prod-eu', 'remediate-prod-eu-x');
  const entry = (n: NodeView) => ({
    ...n,
    providerID: n.instanceId ? `aws:///eu-west-1a/${n.instanceId}` : '',
    availabilityZone: 'eu-west-1a',
    annotations: {},
    kubeletVersion: 'v1.37.2',
    heldByPods: [],
  });

  it('plans from the inventory in S3 and hands the steps the wait and the drain policy', async () => {
    const store = memoryStore({ [key]: { body: JSON.stringify(fleet(1, 10).map(entry)) } });
    const handler = planNodeHandler.makeHandler({ clusters, store });
    const out = await handler(
      { cluster: 'prod-eu', key, alarm: { node: 'worker-1', route: 'x' } },
      lambdaContext(),
    );

    expect(out).toMatchObject({
      act: true,
      targets: [{ node: 'worker-1' }],
      settings: {
        pollSeconds: 15,
        readyChecks: 8,
        drain: { timeoutSeconds: 120, gracePeriodSeconds: -1, deleteEmptyDirData: true, force: false },
      },
    });
  });

  it('rejects a key outside <cluster>/remediation/, a missing inventory and a cluster without remediation', async () => {
    const store = memoryStore();
    await expect(
      planNodes({ cluster: 'prod-eu', key: 'prod-eu/patching/x/nodes.json' }, { clusters, store }),
    ).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringMatching(/^key: /),
    });
    await expect(planNodes({ cluster: 'prod-eu', key }, { clusters, store })).rejects.toMatchObject({
      name: 'CorruptObjectError',
    });
    await expect(
      planNodes({ cluster: 'quiet', key: nodeInventoryKey('quiet', 'x') }, { clusters, store }),
    ).rejects.toMatchObject({
      name: 'InvalidInputError',
      message: expect.stringMatching(/^cluster: remediation is off/),
    });
  });

  it('rejects a malformed node name before reading anything', async () => {
    const store = memoryStore();
    const getJson = jest.spyOn(store, 'getJson');
    const handler = planNodeHandler.makeHandler({ clusters, store });
    await expect(
      handler({ cluster: 'prod-eu', key, alarm: { node: 'Worker 1' } }, lambdaContext()),
    ).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringMatching(/alarm\.node/) });
    expect(getJson).not.toHaveBeenCalled();
  });
});

describe('recover-node handler', () => {
  function replacer(group?: string): NodeReplacer & { calls: string[] } {
    const calls: string[] = [];
    return {
      calls,
      reboot: async (cluster, id) => {
        calls.push(`reboot ${cluster} ${id}`);
      },
      replace: async (cluster, id) => {
        calls.push(`replace ${cluster} ${id}`);
        return group ? { replaced: true, group } : { replaced: false };
      },
    };
  }

  it('reboots the instance through the port', async () => {
    const r = replacer();
    const out = await recoverNodeHandler.makeHandler({ replacer: r })(
      { cluster: 'prod-eu', instanceId: 'i-0feed00000000001', action: 'reboot' },
      lambdaContext(),
    );
    expect(out).toEqual({ action: 'reboot', instanceId: 'i-0feed00000000001', rebooted: true });
    expect(r.calls).toEqual(['reboot prod-eu i-0feed00000000001']);
  });

  it('replaces through the group, and says so when no group owns the instance', async () => {
    const withGroup = replacer('workers-a');
    expect(
      await recoverNodeHandler.makeHandler({ replacer: withGroup })(
        { cluster: 'prod-eu', instanceId: 'i-0feed00000000001', action: 'replace' },
        lambdaContext(),
      ),
    ).toEqual({ action: 'replace', instanceId: 'i-0feed00000000001', replaced: true, group: 'workers-a' });
    expect(
      await recoverNodeHandler.makeHandler({ replacer: replacer() })(
        { cluster: 'prod-eu', instanceId: 'i-0feed00000000001', action: 'replace' },
        lambdaContext(),
      ),
    ).toEqual({ action: 'replace', instanceId: 'i-0feed00000000001', replaced: false });
  });

  it('rejects an unknown action or a bad instance id, naming the field, and calls nothing', async () => {
    const r = replacer();
    const handler = recoverNodeHandler.makeHandler({ replacer: r });
    await expect(
      handler({ cluster: 'prod-eu', instanceId: 'i-0feed00000000001', action: 'terminate' }, lambdaContext()),
    ).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringMatching(/action/) });
    await expect(
      handler({ cluster: 'prod-eu', instanceId: 'worker-1', action: 'reboot' }, lambdaContext()),
    ).rejects.toMatchObject({ name: 'InvalidInputError', message: expect.stringMatching(/instanceId/) });
    expect(r.calls).toEqual([]);
  });
});

describe('plan-remediation handler: node-outcomes', () => {
  it('sums up the nodes, and rejects an outcome it does not know', async () => {
    const handler = planRemediationHandler.makeHandler();
    expect(
      await handler(
        {
          cluster: 'prod-eu',
          step: 'node-outcomes',
          outcomes: [{ node: 'w1', instanceId: 'i-1', outcome: 'no-auto-scaling-group' }],
        },
        lambdaContext(),
      ),
    ).toMatchObject({ escalate: true, rule: 'no-auto-scaling-group' });
    await expect(
      handler(
        {
          cluster: 'prod-eu',
          step: 'node-outcomes',
          outcomes: [{ node: 'w1', instanceId: 'i-1', outcome: 'gone' }],
        },
        lambdaContext(),
      ),
    ).rejects.toMatchObject({ name: 'InvalidInputError' });
  });
});
