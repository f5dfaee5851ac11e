import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';

/** a registered backend: what an ELBv2 target group holds (an instance and a port) */
export interface Target {
  /** the target id: the instance id of the control-plane node */
  id: string;
  host: string;
  port: number;
}

/**
 * A TCP load balancer on 127.0.0.1 in front of the API servers, the local stand-in for the
 * cluster's API load balancer (an NLB forwarding TCP 6443). Targets are registered and
 * deregistered by id, as RegisterTargets and DeregisterTargets do: a deregistered target gets no
 * new connections, and its open ones are closed after `drainMs` (the deregistration delay).
 * A connection goes to the next target in turn; a target that refuses it is skipped, the way a
 * failed health check takes it out of service.
 */
export class TcpLoadBalancer {
  private readonly targets = new Map<string, Target>();
  private readonly connections = new Map<string, Set<Socket>>();
  private next = 0;
  /** connections accepted, per target id: tests read where traffic went */
  readonly served = new Map<string, number>();

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  /** listens on 127.0.0.1 on a port the OS picks */
  static async start(): Promise<TcpLoadBalancer> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    const lb = new TcpLoadBalancer(server, (server.address() as AddressInfo).port);
    server.on('connection', (socket) => lb.accept(socket));
    return lb;
  }

  /** https://127.0.0.1:<port>: what kubeconfigs point at */
  get url(): string {
    return `https://127.0.0.1:${this.port}`;
  }

  /** the ids in service, in registration order */
  get registered(): string[] {
    return [...this.targets.keys()];
  }

  register(target: Target): void {
    this.targets.set(target.id, target);
  }

  /**
   * Takes `id` out of service: no new connections; open ones are closed after `drainMs`
   * (default 0: at once). Resolves when they are closed. Unknown ids are ignored, as in ELBv2.
   */
  async deregister(id: string, drainMs = 0): Promise<void> {
    this.targets.delete(id);
    const open = this.connections.get(id);
    if (!open || open.size === 0) return;
    if (drainMs > 0) await new Promise((resolve) => setTimeout(resolve, drainMs).unref());
    for (const socket of open) socket.destroy();
  }

  private accept(client: Socket, tried = new Set<string>()): void {
    const candidates = [...this.targets.values()].filter((t) => !tried.has(t.id));
    if (candidates.length === 0) {
      client.destroy();
      return;
    }
    const target = candidates[this.next++ % candidates.length]!;
    tried.add(target.id);
    client.pause();
    const upstream = connect({ host: target.host, port: target.port });
    let connected = false;
    upstream.once('connect', () => {
      connected = true;
      this.served.set(target.id, (this.served.get(target.id) ?? 0) + 1);
      const open = this.connections.get(target.id) ?? new Set<Socket>();
      this.connections.set(target.id, open);
      open.add(client);
      client.once('close', () => open.delete(client));
      client.pipe(upstream);
      upstream.pipe(client);
      client.resume();
    });
    upstream.on('error', () => {
      // refused before it was connected: try another target; afterwards: end the client too
      if (!connected && !client.destroyed) this.accept(client, tried);
      else client.destroy();
    });
    client.on('error', () => upstream.destroy());
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => {
      if (connected) client.destroy();
    });
  }

  /** closes the listener and every open connection */
  async stop(): Promise<void> {
    for (const open of this.connections.values()) for (const s of open) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
