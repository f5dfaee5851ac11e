/**
 * The node-notready scenarios of `npx tsx sandbox/main.ts remediate <scenario>`: a worker's KWOK
 * Node really stops posting status on the sandbox's API server; the EC2 reboot and the Auto
 * Scaling replacement are sandbox/node-replacer.ts's stand-ins on the LocalFleet.
 */
import type { Scenario } from './remediate-scenarios';
import type { Sandbox } from './sandbox';

// --- node-notready: a real KWOK Node stops posting status -----------------------------------

/** the worker each node scenario breaks (two, so one sandbox runs both without a cooldown between) */
export const NOTREADY_NODE = 'worker-1';
export const REPLACED_NODE = 'worker-2';

/**
 * What the node scenarios need of the sandbox cluster: the remediation waits one minute (four
 * looks, a few seconds apart here) for the rebooted node, and the drain of a dead node's pods
 * gives up after 5 s (they never finish terminating on a node nobody plays)
 */
export const NODE_SCENARIO_CONFIG = {
  remediation: { readyTimeoutMinutes: 1, drainTimeoutSeconds: 5 },
};

/** the Wait state the node-notready runbook loops on: a few real seconds between looks */
const NODE_WAIT_MS = { 'Wait for the node to come back': 3000 };

function instanceOf(sandbox: Sandbox, node: string): string {
  const found = [...sandbox.fleet.nodes.values()].find((n) => n.kubernetesNodeName === node);
  if (!found) throw new Error(`no fleet machine plays the Node ${node}`);
  return found.instanceId;
}

interface NodeLine {
  metadata: { name: string };
  spec: { unschedulable?: boolean; providerID?: string };
  status: { conditions?: { type: string; status: string }[]; nodeInfo: { bootID: string } };
}

/** every Node as `kubectl get nodes` would say it, with its boot id */
export async function nodeLines(sandbox: Sandbox): Promise<string[]> {
  const list = JSON.parse(await sandbox.kubernetes!.kubectl(['get', 'nodes', '-o', 'json'])) as {
    items: NodeLine[];
  };
  return list.items.map((n) => {
    const ready = n.status.conditions?.find((c) => c.type === 'Ready')?.status === 'True';
    return `  ${n.metadata.name}: ${ready ? 'Ready' : 'NotReady'}${n.spec.unschedulable ? ',SchedulingDisabled' : ''} boot ${n.status.nodeInfo.bootID.slice(0, 8)} ${n.spec.providerID ?? ''}`;
  });
}

/** waits until `node` is Ready (KWOK plays a new Node within seconds) */
export async function waitForReady(sandbox: Sandbox, node: string, timeoutMs = 30_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const line = (await nodeLines(sandbox)).find((l) => l.startsWith(`  ${node}:`));
    if (line?.includes(': Ready')) return true;
    await new Promise((r) => setTimeout(r, 500));
  }
  return false;
}

async function breakNode(sandbox: Sandbox, node: string, staysDown: boolean): Promise<string[]> {
  const id = instanceOf(sandbox, node);
  // the kubelet stops posting status: KWOK stops playing the Node, its Ready condition goes Unknown
  await sandbox.kubernetes!.nodeDown(node);
  // a machine that a reboot does not cure: the reboot never ends
  if (staysDown) sandbox.fleet.stayDownOnReboot(id);
  return [
    `${node} (${id}) stopped posting status${staysDown ? '; a reboot will not bring it back' : ''}`,
    ...(await nodeLines(sandbox)),
  ];
}

async function afterNode(sandbox: Sandbox): Promise<string[]> {
  for (const l of sandbox.replacer.launched) await waitForReady(sandbox, l.node);
  return [
    ...sandbox.replacer.calls.map((c) => `  EC2/Auto Scaling: ${c}`),
    ...sandbox.replacer.launched.map(
      (l) => `  ${l.group} launched ${l.instanceId} (${l.node}) for ${l.replaces}`,
    ),
    ...(await nodeLines(sandbox)),
  ];
}

export const NODE_SCENARIOS: Record<'node-notready' | 'node-notready-replace', Scenario> = {
  'node-notready': {
    route: 'node-notready',
    metric: 'NodeNotReady',
    summary: `${NOTREADY_NODE} NotReady (its kubelet stopped); a reboot through EC2 cures it`,
    kubernetes: true,
    clusterConfig: NODE_SCENARIO_CONFIG,
    dimensions: { node: NOTREADY_NODE },
    waitMs: NODE_WAIT_MS,
    breakIt: (sandbox) => breakNode(sandbox, NOTREADY_NODE, false),
    after: afterNode,
  },
  'node-notready-replace': {
    route: 'node-notready',
    metric: 'NodeNotReady',
    summary: `${REPLACED_NODE} NotReady and a reboot does not cure it; its Auto Scaling group replaces it`,
    kubernetes: true,
    clusterConfig: NODE_SCENARIO_CONFIG,
    dimensions: { node: REPLACED_NODE },
    waitMs: NODE_WAIT_MS,
    breakIt: (sandbox) => breakNode(sandbox, REPLACED_NODE, true),
    after: afterNode,
  },
};
