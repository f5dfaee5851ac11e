/**
 * In-memory implementations of the ports, for service and handler tests. Each records what it
 * was asked so tests can assert on the exact calls.
 */
import { parseConfig, type ClusterConfig } from '../../functions/shared/domain/config';
import { LOCK_SCOPES, orderedScopes, type LockScope } from '../../functions/shared/domain/locks';
import { ClusterNotFoundError, CorruptObjectError } from '../../functions/shared/errors';
import type {
  Clock,
  ClusterDirectory,
  CommandIntent,
  CommandRequest,
  CommandRunner,
  CommandTokenStore,
  Instance,
  Inventory,
  Invocation,
  Lease,
  LockStore,
  ObjectHead,
  PendingCommand,
  SnapshotStore,
  TaskCallbacks,
} from '../../functions/shared/ports';

export const fixedClock = (iso = '2026-11-25T06:00:00.000Z'): Clock & { set(iso: string): void } => {
  let now = new Date(iso);
  return { now: () => new Date(now), set: (t) => (now = new Date(t)) };
};

export function testConfig(): ClusterConfig[] {
  return parseConfig({
    clusters: [
      {
        name: 'prod-eu',
        kind: 'kubeadm',
        region: 'eu-west-1',
        backup: { retention: { keepLast: 2, hourly: 0, daily: 0, weekly: 0, monthly: 0 } },
      },
      { name: 'managed', kind: 'eks', region: 'eu-west-1' },
    ],
  }).clusters;
}

export function staticDirectory(
  clusters: ClusterConfig[] = testConfig(),
): ClusterDirectory & { get: jest.Mock } {
  return {
    get: jest.fn(async (name: string) => {
      const c = clusters.find((x) => x.name === name);
      if (!c) throw new ClusterNotFoundError(`cluster "${name}" is not configured`);
      return c;
    }),
  };
}

export function staticInventory(instances: Instance[]): Inventory & { findManagedInstances: jest.Mock } {
  return { findManagedInstances: jest.fn(async () => instances) };
}

/** the lock table in memory, one lease per cluster and scope, with the same rules as dynamo-lock-store */
export function memoryLocks(): LockStore & { leases: Map<string, Lease> } {
  const leases = new Map<string, Lease>();
  const k = (cluster: string, scope: LockScope) => `${cluster}#${scope}`;
  return {
    leases,
    async acquire(request) {
      const scopes = orderedScopes(request.scopes);
      for (const scope of scopes) {
        const held = leases.get(k(request.cluster, scope));
        if (held && held.owner !== request.owner && held.expiresAt >= request.acquiredAt)
          return { acquired: false, heldBy: held };
      }
      const { cluster, owner, operation, acquiredAt, expiresAt } = request;
      for (const scope of scopes)
        leases.set(k(cluster, scope), { cluster, owner, operation, acquiredAt, expiresAt, scope });
      return { acquired: true };
    },
    async renew(request) {
      for (const scope of orderedScopes(request.scopes)) {
        const held = leases.get(k(request.cluster, scope));
        if (!held || held.owner !== request.owner || held.expiresAt < request.acquiredAt)
          return held ? { renewed: false, scope, heldBy: held } : { renewed: false, scope };
        held.expiresAt = request.expiresAt;
      }
      return { renewed: true };
    },
    async holders(cluster, scopes) {
      return scopes.map((scope) => leases.get(k(cluster, scope)));
    },
    async release(cluster, owner) {
      let released = false;
      for (const scope of LOCK_SCOPES) {
        if (leases.get(k(cluster, scope))?.owner !== owner) continue;
        leases.delete(k(cluster, scope));
        released = true;
      }
      return released;
    },
  };
}

export function memoryTokens(): CommandTokenStore & {
  items: Map<string, PendingCommand>;
  intents: Map<string, CommandIntent>;
} {
  const items = new Map<string, PendingCommand>();
  const intents = new Map<string, CommandIntent>();
  const k = (c: string, i: string) => `${c}#${i}`;
  return {
    items,
    intents,
    // the same rules as the table's conditional write (dynamo-command-token-store.ts)
    async claim(intent, staleBefore) {
      const previous = intents.get(intent.id);
      if (previous?.commandId) return { outcome: 'sent', commandId: previous.commandId };
      if (previous && previous.claimedAt >= staleBefore) return { outcome: 'in-flight', previous };
      intents.set(intent.id, { ...intent });
      return previous ? { outcome: 'taken-over', previous } : { outcome: 'new' };
    },
    async recordSent(id, commandId) {
      const intent = intents.get(id);
      if (intent) intent.commandId = commandId;
    },
    async put(p) {
      items.set(k(p.commandId, p.instanceId), p);
    },
    async take(c, i) {
      const p = items.get(k(c, i));
      items.delete(k(c, i));
      return p;
    },
    async list() {
      return [...items.values()];
    },
  };
}

export function fakeRunner(): CommandRunner & {
  sent: CommandRequest[];
  invocations: Map<string, Invocation>;
  finish(commandId: string, instanceId: string, inv: Invocation): void;
} {
  const sent: CommandRequest[] = [];
  const invocations = new Map<string, Invocation>();
  return {
    sent,
    invocations,
    async send(req) {
      sent.push(req);
      const commandId = `00000000-0000-4000-8000-${String(sent.length).padStart(12, '0')}`;
      invocations.set(`${commandId}#${req.instanceId}`, {
        status: 'InProgress',
        exitCode: -1,
        stdout: '',
        stderr: '',
      });
      return { commandId };
    },
    async findSent(instanceId, marker) {
      const at = sent.findIndex((r) => r.instanceId === instanceId && r.comment.includes(marker));
      return at < 0
        ? undefined
        : { commandId: `00000000-0000-4000-8000-${String(at + 1).padStart(12, '0')}` };
    },
    async getInvocation(c, i) {
      return invocations.get(`${c}#${i}`);
    },
    finish(c, i, inv) {
      invocations.set(`${c}#${i}`, inv);
    },
  };
}

export function recordingCallbacks(): TaskCallbacks & {
  successes: { taskToken: string; output: unknown }[];
  failures: { taskToken: string; error: string; cause: string }[];
} {
  const successes: { taskToken: string; output: unknown }[] = [];
  const failures: { taskToken: string; error: string; cause: string }[] = [];
  return {
    successes,
    failures,
    async succeed(taskToken, output) {
      successes.push({ taskToken, output });
    },
    async fail(taskToken, error, cause) {
      failures.push({ taskToken, error, cause });
    },
  };
}

export interface MemoryObject {
  body: string;
  metadata?: Record<string, string>;
  tags?: Record<string, string>;
  lockedUntil?: Date;
  legalHold?: boolean;
}

export function memoryStore(objects: Record<string, MemoryObject> = {}): SnapshotStore & {
  objects: Map<string, MemoryObject>;
  deleted: string[];
} {
  const map = new Map(Object.entries(objects));
  const deleted: string[] = [];
  return {
    objects: map,
    deleted,
    async list(prefix) {
      return [...map.entries()]
        .filter(([k]) => k.startsWith(prefix))
        .map(([key, o]) => ({ key, size: o.body.length, lastModified: new Date(0) }));
    },
    async head(key) {
      const o = map.get(key);
      if (!o) return undefined;
      const h: ObjectHead = { size: Buffer.byteLength(o.body), metadata: o.metadata ?? {} };
      if (o.lockedUntil) h.lockedUntil = o.lockedUntil;
      if (o.legalHold) h.legalHold = true;
      return h;
    },
    async getJson(key) {
      const o = map.get(key);
      if (!o) return undefined;
      try {
        return JSON.parse(o.body) as unknown;
      } catch (e) {
        // as s3-snapshot-store.ts: a named error, never a bare SyntaxError
        throw new CorruptObjectError(`${key} is not JSON: ${(e as Error).message}`);
      }
    },
    async getTags(key) {
      return map.get(key)?.tags ?? {};
    },
    async putTags(key, tags) {
      const o = map.get(key);
      if (!o) throw new Error(`NoSuchKey: ${key}`);
      o.tags = { ...tags };
    },
    async putJson(key, value) {
      map.set(key, { body: JSON.stringify(value) });
    },
    async delete(key) {
      deleted.push(key);
      map.delete(key);
    },
  };
}

// the sandbox's SNS and CloudWatch keep what they were given; tests read the same
export {
  memoryMetrics as recordingMetrics,
  memoryNotifier as recordingNotifier,
} from '../../sandbox/local-adapters';
