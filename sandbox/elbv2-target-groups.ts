/**
 * The ELBv2 stand-in: target groups whose registered targets are what the sandbox's TCP load
 * balancer (load-balancer.ts) sends traffic to. DeregisterTargets really takes an API server out
 * of traffic (after the deregistration delay its open connections are closed), RegisterTargets
 * puts it back, and DescribeTargetHealth answers as ELBv2 does: `draining` until the delay has
 * passed, then `unused`; `initial` until a health check (a TCP connect to the target) passes,
 * then `healthy`. Every registration change goes into a timeline, which tests read.
 */
import { connect } from 'node:net';
import type { TargetGroups, TargetHealth } from '../functions/shared/ports';
import type { Target } from './load-balancer';

/** what the stand-in drives: the local TCP load balancer's register/deregister */
export interface LoadBalancerBackend {
  readonly registered: string[];
  register(target: Target): void;
  deregister(id: string, drainMs?: number): Promise<void>;
}

/** one change of who is in service, or an upgrade step, in the order it happened */
export interface TimelineEvent {
  at: number;
  kind: 'deregister' | 'register' | 'kubeadm' | 'kubelet' | 'apiserver-restarted';
  /** the instance id (load balancer) or node name (kubeadm, kubelet) */
  subject: string;
  /** the etcd leader's member name at that moment, where it was asked */
  etcdLeader?: string;
  detail?: string;
}

export interface LocalTargetGroupsOptions {
  lb: LoadBalancerBackend;
  /** the group ARNs the cluster config names; each holds the same API servers */
  targetGroupArns: readonly string[];
  /** the API server behind an instance id */
  backend: (id: string) => { host: string; port: number } | undefined;
  /** the deregistration delay, default 1 s (ELBv2's default is 300 s) */
  drainMs?: number;
  timeline?: TimelineEvent[];
  now?: () => number;
}

type TargetState = { state: 'healthy' | 'initial' } | { state: 'draining'; until: number };

function tcpAnswers(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(2000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

export class LocalTargetGroups implements TargetGroups {
  readonly timeline: TimelineEvent[];
  private readonly targets = new Map<string, Map<string, TargetState>>();
  private readonly drainMs: number;
  private readonly now: () => number;

  constructor(private readonly options: LocalTargetGroupsOptions) {
    this.timeline = options.timeline ?? [];
    this.drainMs = options.drainMs ?? 1000;
    this.now = options.now ?? Date.now;
    for (const arn of options.targetGroupArns) {
      // what the cluster came up with: every API server the load balancer already serves
      this.targets.set(arn, new Map(options.lb.registered.map((id) => [id, { state: 'healthy' }])));
    }
  }

  private group(arn: string): Map<string, TargetState> {
    const g = this.targets.get(arn);
    if (!g) {
      throw Object.assign(new Error(`One or more target groups not found: ${arn}`), {
        name: 'TargetGroupNotFoundException',
      });
    }
    return g;
  }

  /** instance ids in service in no group, right now: the load balancer's own view */
  get inService(): string[] {
    return this.options.lb.registered;
  }

  async describe(arn: string, targets?: readonly { id: string; port?: number }[]): Promise<TargetHealth[]> {
    const g = this.group(arn);
    const ids = targets ? targets.map((t) => t.id) : [...g.keys()];
    const out: TargetHealth[] = [];
    for (const id of ids) {
      const port = this.options.backend(id)?.port;
      const s = g.get(id);
      if (s?.state === 'draining' && this.now() >= s.until) g.delete(id);
      const current = g.get(id);
      if (!current) {
        out.push({ targetGroupArn: arn, id, port, state: 'unused', reason: 'Target.NotRegistered' });
      } else if (current.state === 'draining') {
        out.push({
          targetGroupArn: arn,
          id,
          port,
          state: 'draining',
          reason: 'Target.DeregistrationInProgress',
        });
      } else if (current.state === 'initial') {
        const b = this.options.backend(id);
        if (b && (await tcpAnswers(b.host, b.port))) {
          g.set(id, { state: 'healthy' });
          out.push({ targetGroupArn: arn, id, port, state: 'healthy' });
        } else {
          out.push({ targetGroupArn: arn, id, port, state: 'initial', reason: 'Elb.RegistrationInProgress' });
        }
      } else {
        out.push({ targetGroupArn: arn, id, port, state: 'healthy' });
      }
    }
    return out;
  }

  async deregister(arn: string, targets: readonly { id: string; port?: number }[]): Promise<void> {
    const g = this.group(arn);
    for (const t of targets) {
      if (!g.has(t.id) || g.get(t.id)?.state === 'draining') continue;
      g.set(t.id, { state: 'draining', until: this.now() + this.drainMs });
      this.timeline.push({ at: this.now(), kind: 'deregister', subject: t.id, detail: arn });
      // out of traffic in every group at once: the sandbox has one load balancer
      void this.options.lb.deregister(t.id, this.drainMs);
    }
  }

  async register(arn: string, targets: readonly { id: string; port?: number }[]): Promise<void> {
    const g = this.group(arn);
    for (const t of targets) {
      const b = this.options.backend(t.id);
      if (!b) {
        throw Object.assign(new Error(`The following targets are not valid instances: ${t.id}`), {
          name: 'InvalidTargetException',
        });
      }
      const s = g.get(t.id);
      if (s && s.state !== 'draining') continue;
      g.set(t.id, { state: 'initial' });
      this.timeline.push({ at: this.now(), kind: 'register', subject: t.id, detail: arn });
      this.options.lb.register({ id: t.id, host: b.host, port: b.port });
    }
  }
}
