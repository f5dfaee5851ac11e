import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { etcdBinaries, type EtcdBinaries } from './etcd-versions';
import type { EtcdPki } from './pki';
import { isAlive as isRunning, logTail, stopProcess } from './processes';

const execFileAsync = promisify(execFile);

/** Debian's etcd 3.4 (etcd-server, etcd-client packages): the binaries when none are given */
const DEBIAN_ETCD = etcdBinaries('3.4');

/**
 * Asks the OS for `count` distinct free TCP ports on 127.0.0.1 (listen on port 0, read the port,
 * close). All listeners are held until every port is known, so the ports differ from each other.
 */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    const ports: number[] = [];
    for (let i = 0; i < count; i++) {
      const server = createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => resolve());
      });
      ports.push((server.address() as AddressInfo).port);
    }
    return ports;
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }
}

/** client TLS material for etcdctl */
export interface EtcdClientTls {
  caFile: string;
  certFile: string;
  keyFile: string;
}

/** one member as `endpoint status -w fields` reports it; ids are decimal strings (uint64) */
export interface EndpointStatus {
  endpoint: string;
  memberId: string;
  leader: string;
  revision: number;
  dbSize: number;
  version: string;
}

/** a thin, typed wrapper around the etcdctl binary (API v3) for test assertions and seeding */
export class Etcdctl {
  constructor(
    readonly endpoints: readonly string[],
    readonly tls?: EtcdClientTls,
    readonly bin: string = DEBIAN_ETCD.etcdctl,
  ) {}

  /**
   * Runs `etcdctl --endpoints=... [tls flags] <args>` and returns its stdout.
   * @throws Error carrying etcdctl's stderr when it exits non-zero.
   */
  async run(args: readonly string[], input?: string, timeoutSeconds = 30): Promise<string> {
    const flags = [
      `--endpoints=${this.endpoints.join(',')}`,
      `--dial-timeout=${Math.min(timeoutSeconds, 3)}s`,
      `--command-timeout=${timeoutSeconds}s`,
    ];
    if (this.tls) {
      flags.push(`--cacert=${this.tls.caFile}`, `--cert=${this.tls.certFile}`, `--key=${this.tls.keyFile}`);
    }
    return runEtcdctl(this.bin, [...flags, ...args], input);
  }

  /** true when `endpoint health` passes for every endpoint */
  async isHealthy(): Promise<boolean> {
    try {
      await this.run(['endpoint', 'health'], undefined, 1);
      return true;
    } catch {
      return false;
    }
  }

  /** `endpoint status` of every endpoint, parsed from `-w fields` so uint64 ids stay exact */
  async status(): Promise<EndpointStatus[]> {
    const out = await this.run(['endpoint', 'status', '-w', 'fields']);
    return out
      .split(/\n\s*\n/)
      .filter((block) => block.includes('"MemberID"'))
      .map((block) => {
        const fields = new Map<string, string>();
        for (const line of block.split('\n')) {
          const m = /^"(\w+)" : "?(.*?)"?$/.exec(line.trim());
          if (m?.[1] && m[2] !== undefined && !fields.has(m[1])) fields.set(m[1], m[2]);
        }
        return {
          endpoint: fields.get('Endpoint') ?? '',
          memberId: fields.get('MemberID') ?? '',
          leader: fields.get('Leader') ?? '',
          revision: Number(fields.get('Revision')),
          dbSize: Number(fields.get('DBSize')),
          version: fields.get('Version') ?? '',
        };
      });
  }

  /** the store's current revision (the response header of a one-key read) */
  async revision(): Promise<number> {
    const out = await this.run(['get', '', '--from-key', '--keys-only', '--limit=1', '-w', 'json']);
    const m = /"revision":(\d+)/.exec(out);
    if (!m?.[1]) throw new Error(`no revision in etcdctl output: ${out.slice(0, 200)}`);
    return Number(m[1]);
  }

  /** how many keys exist (at `rev`, or now) */
  async totalKeys(rev?: number): Promise<number> {
    const args = ['get', '', '--from-key', '--keys-only', '--limit=1', '-w', 'json'];
    if (rev !== undefined) args.push(`--rev=${rev}`);
    const out = await this.run(args);
    const m = /"count":(\d+)/.exec(out);
    return m?.[1] ? Number(m[1]) : 0;
  }

  /** key counts per `/registry/<resource>` (at `rev`, or now), sorted by resource */
  async registryKeyCounts(rev?: number): Promise<Record<string, number>> {
    const args = ['get', '/registry/', '--prefix', '--keys-only'];
    if (rev !== undefined) args.push(`--rev=${rev}`);
    const out = await this.run(args);
    const counts = new Map<string, number>();
    for (const line of out.split('\n')) {
      const resource = line.startsWith('/registry/') ? line.split('/')[2] : undefined;
      if (resource) counts.set(resource, (counts.get(resource) ?? 0) + 1);
    }
    return Object.fromEntries([...counts.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
  }
}

async function runEtcdctl(bin: string, args: readonly string[], input?: string): Promise<string> {
  const child = execFileAsync(bin, args, {
    env: { ...process.env, ETCDCTL_API: '3' },
    maxBuffer: 256 * 1024 * 1024,
  });
  if (input !== undefined) {
    child.child.stdin?.end(input);
  }
  try {
    return (await child).stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(
      `etcdctl ${args.filter((a) => !a.startsWith('--')).join(' ')} failed: ${stderr.trim() || String(err)}`,
    );
  }
}

/** a process this module started, stopped only by its PID */
export interface TrackedProcess {
  child: ChildProcess;
  pid: number;
  exited: Promise<void>;
  logFile: string;
}

function spawnEtcd(bin: string, args: readonly string[], logFile: string): TrackedProcess {
  const fd = openSync(logFile, 'a');
  const child = spawn(bin, args, { stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid === undefined) throw new Error(`could not start ${bin} (see ${logFile})`);
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return { child, pid: child.pid, exited, logFile };
}

/** polls until `client` is healthy; fails fast with the log tail if a process dies */
async function waitHealthy(
  client: Etcdctl,
  procs: readonly TrackedProcess[],
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const dead = procs.find((p) => !isRunning(p));
    if (dead) throw new Error(`etcd (pid ${dead.pid}) exited while starting:\n${logTail(dead.logFile)}`);
    if (await client.isHealthy()) return;
    if (Date.now() > deadline) {
      throw new Error(
        `etcd not healthy after ${timeoutMs} ms:\n${procs.map((p) => logTail(p.logFile, 5)).join('\n')}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** etcd flags shared by every member started here: quick elections, quiet logs */
const COMMON_FLAGS = [
  '--heartbeat-interval=50',
  '--election-timeout=500',
  '--logger=zap',
  '--log-level=warn',
];

/** one member of a test cluster */
export interface EtcdMember {
  name: string;
  /** https://127.0.0.1:<port> */
  clientUrl: string;
  clientPort: number;
  peerUrl: string;
  dataDir: string;
  logFile: string;
}

export interface StartEtcdClusterOptions {
  /** certificates from {@link generateEtcdPki} */
  pki: EtcdPki;
  /** members, default 3 */
  size?: number;
  /** peer traffic over TLS with peer cert auth (kubeadm's layout), default true; false = plain http */
  peerTls?: boolean;
  /** parent of the data dirs; default a fresh directory under the OS temp dir (removed by stop) */
  dir?: string;
  /** how long to wait for the cluster to become healthy, default 20 s */
  startTimeoutMs?: number;
  /** the etcd version's binaries (sandbox/etcd-versions.ts), default Debian's 3.4 */
  binaries?: EtcdBinaries;
  /** --quota-backend-bytes of every member (etcd's default 2 GiB when absent): a small one fills fast */
  quotaBackendBytes?: number;
}

/** a member restored from a snapshot: plain http on loopback, stopped by PID */
export interface RestoredMember {
  client: Etcdctl;
  clientUrl: string;
  dataDir: string;
  pid: number;
  stop(): Promise<void>;
}

/**
 * A real N-member etcd cluster on 127.0.0.1: client TLS with client-cert-auth (the server
 * certificate from the kubeadm-layout PKI), data dirs in a temp dir, every process tracked by PID.
 * Start it with {@link startEtcdCluster}; always `await cluster.stop()` in afterAll.
 */
export class EtcdCluster {
  private readonly procs = new Map<string, TrackedProcess>();
  /** each member's command line, so a member can be restarted as it was started */
  private readonly args = new Map<string, readonly string[]>();
  private readonly extra: TrackedProcess[] = [];

  private constructor(
    readonly members: readonly EtcdMember[],
    readonly pki: EtcdPki,
    readonly dir: string,
    private readonly ownsDir: boolean,
    /** the etcd version this cluster runs */
    readonly binaries: EtcdBinaries,
  ) {}

  /** @internal used by {@link startEtcdCluster} */
  static async start(options: StartEtcdClusterOptions): Promise<EtcdCluster> {
    const size = options.size ?? 3;
    const peerTls = options.peerTls ?? true;
    const dir = options.dir ?? (await mkdtemp(join(tmpdir(), 'caretaker-etcd-')));
    await mkdir(dir, { recursive: true });
    const ports = await freePorts(2 * size);
    const peerScheme = peerTls ? 'https' : 'http';
    const members: EtcdMember[] = Array.from({ length: size }, (_, i) => {
      const clientPort = ports[2 * i] as number;
      const peerPort = ports[2 * i + 1] as number;
      return {
        name: `member-${i}`,
        clientUrl: `https://127.0.0.1:${clientPort}`,
        clientPort,
        peerUrl: `${peerScheme}://127.0.0.1:${peerPort}`,
        dataDir: join(dir, `member-${i}`),
        logFile: join(dir, `member-${i}.log`),
      };
    });
    const cluster = new EtcdCluster(
      members,
      options.pki,
      dir,
      options.dir === undefined,
      options.binaries ?? DEBIAN_ETCD,
    );
    const initialCluster = members.map((m) => `${m.name}=${m.peerUrl}`).join(',');
    const { pki } = options;
    try {
      for (const m of members) {
        const args = [
          `--name=${m.name}`,
          `--data-dir=${m.dataDir}`,
          `--listen-client-urls=${m.clientUrl}`,
          `--advertise-client-urls=${m.clientUrl}`,
          `--listen-peer-urls=${m.peerUrl}`,
          `--initial-advertise-peer-urls=${m.peerUrl}`,
          `--initial-cluster=${initialCluster}`,
          '--initial-cluster-state=new',
          '--initial-cluster-token=caretaker-test',
          '--client-cert-auth',
          `--trusted-ca-file=${pki.ca.cert}`,
          `--cert-file=${pki.server.cert}`,
          `--key-file=${pki.server.key}`,
          // seeding puts up to 1000 keys per transaction
          '--max-txn-ops=1000',
          ...(options.quotaBackendBytes ? [`--quota-backend-bytes=${options.quotaBackendBytes}`] : []),
          ...(peerTls
            ? [
                '--peer-client-cert-auth',
                `--peer-trusted-ca-file=${pki.ca.cert}`,
                `--peer-cert-file=${pki.peer.cert}`,
                `--peer-key-file=${pki.peer.key}`,
              ]
            : []),
          ...COMMON_FLAGS,
        ];
        cluster.args.set(m.name, args);
        cluster.procs.set(m.name, spawnEtcd(cluster.binaries.etcd, args, m.logFile));
      }
      await waitHealthy(cluster.client(), [...cluster.procs.values()], options.startTimeoutMs ?? 20_000);
    } catch (err) {
      await cluster.stop();
      throw err;
    }
    return cluster;
  }

  /** PIDs of the processes still running (members and restored members) */
  get pids(): number[] {
    return [...this.procs.values(), ...this.extra].filter(isRunning).map((p) => p.pid);
  }

  /** the healthcheck-client TLS flags, as the SSM documents use them by default */
  get clientTls(): EtcdClientTls {
    return {
      caFile: this.pki.ca.cert,
      certFile: this.pki.healthcheckClient.cert,
      keyFile: this.pki.healthcheckClient.key,
    };
  }

  /** an etcdctl for member `index`, or for every member when omitted */
  client(index?: number): Etcdctl {
    const endpoints =
      index === undefined ? this.members.map((m) => m.clientUrl) : [this.member(index).clientUrl];
    return new Etcdctl(endpoints, this.clientTls, this.binaries.etcdctl);
  }

  member(index: number): EtcdMember {
    const m = this.members[index];
    if (!m) throw new Error(`no member ${index} (cluster of ${this.members.length})`);
    return m;
  }

  isRunning(index: number): boolean {
    const proc = this.procs.get(this.member(index).name);
    return proc !== undefined && isRunning(proc);
  }

  /**
   * Puts `keys` (value: `value`, default a 200-character filler) in transactions of up to 1000
   * puts, a few at a time; a few thousand keys take well under a second.
   */
  async seed(keys: readonly string[], value = 'v'.repeat(200)): Promise<void> {
    if (/\s|"/.test(value)) throw new Error('seed values must not contain spaces or quotes');
    const running = this.members.map((_, i) => i).filter((i) => this.isRunning(i));
    const client = new Etcdctl(
      running.map((i) => this.member(i).clientUrl),
      this.clientTls,
      this.binaries.etcdctl,
    );
    const batches: string[][] = [];
    for (let i = 0; i < keys.length; i += 1000) batches.push(keys.slice(i, i + 1000));
    for (const key of keys) {
      if (/\s|"/.test(key)) throw new Error(`seed keys must not contain spaces or quotes: ${key}`);
    }
    const parallel = 3;
    for (let i = 0; i < batches.length; i += parallel) {
      await Promise.all(
        batches.slice(i, i + parallel).map((batch) => {
          // txn from stdin: compares, blank line, success ops, blank line, failure ops, blank line
          const ops = batch.map((k) => `put ${k} ${value}`).join('\n');
          return client.run(['txn'], `\n${ops}\n\n\n`);
        }),
      );
    }
  }

  /** stops member `index` by its PID (SIGTERM, then SIGKILL) and waits for it to exit */
  async stopMember(index: number): Promise<void> {
    const proc = this.procs.get(this.member(index).name);
    if (proc) await stopProcess(proc);
  }

  /**
   * Restarts member `index` as a supervisor would (systemd, the kubelet): stops its process by
   * PID, starts the same command line on the same data dir, waits until it answers.
   */
  async restartMember(index: number, timeoutMs = 20_000): Promise<void> {
    const m = this.member(index);
    await this.stopMember(index);
    const proc = spawnEtcd(this.binaries.etcd, this.args.get(m.name) ?? [], m.logFile);
    this.procs.set(m.name, proc);
    await waitHealthy(this.client(index), [proc], timeoutMs);
  }

  /**
   * Restores `snapshotFile` into a fresh single member (see {@link restoreSnapshot}); the member
   * is also stopped by {@link stop}.
   */
  async restoreInto(snapshotFile: string): Promise<RestoredMember> {
    const restored = await restoreSnapshot(
      snapshotFile,
      join(this.dir, `restore-${this.extra.length}`),
      (p) => this.extra.push(p),
      this.binaries,
    );
    return restored;
  }

  /**
   * Kills every process this cluster started, by PID, then removes the temp dir it created.
   * SIGKILL straight away: the data is thrown away, and a leader given SIGTERM while its peers
   * also stop waits seconds trying to hand over leadership.
   */
  async stop(): Promise<void> {
    await Promise.all([...this.procs.values(), ...this.extra].map((p) => stopProcess(p, 0)));
    if (this.ownsDir) await rm(this.dir, { recursive: true, force: true });
  }
}

/**
 * Starts an N-member (default 3) TLS etcd cluster on free loopback ports and waits until every
 * member is healthy.
 * @throws Error with the members' log tails when a member exits or the cluster is not healthy in time.
 */
export function startEtcdCluster(options: StartEtcdClusterOptions): Promise<EtcdCluster> {
  return EtcdCluster.start(options);
}

/**
 * Restores `snapshotFile` into `<dir>/data` (`etcdutl snapshot restore` where the version has it,
 * `etcdctl snapshot restore` on 3.4), starts one member on free loopback ports (plain http) and
 * waits until it is healthy.
 * @param dir a directory that does not exist yet or is empty; default a fresh temp dir
 * @param track receives the started process (for owners that stop everything by PID)
 * @param binaries the etcd version to restore with, default Debian's 3.4
 * @throws Error when the restore fails (corrupt snapshot, hash mismatch) or the member won't start.
 */
export async function restoreSnapshot(
  snapshotFile: string,
  dir?: string,
  track?: (proc: TrackedProcess) => void,
  binaries: EtcdBinaries = DEBIAN_ETCD,
): Promise<RestoredMember> {
  const base = dir ?? (await mkdtemp(join(tmpdir(), 'caretaker-restore-')));
  const [clientPort, peerPort] = await freePorts(2);
  const name = 'restored';
  const clientUrl = `http://127.0.0.1:${clientPort}`;
  const peerUrl = `http://127.0.0.1:${peerPort}`;
  const dataDir = join(base, 'data');
  await mkdir(base, { recursive: true });
  const cluster = `${name}=${peerUrl}`;
  await runEtcdctl(binaries.etcdutl ?? binaries.etcdctl, [
    'snapshot',
    'restore',
    snapshotFile,
    `--name=${name}`,
    `--data-dir=${dataDir}`,
    `--initial-cluster=${cluster}`,
    `--initial-advertise-peer-urls=${peerUrl}`,
    '--initial-cluster-token=caretaker-restore',
  ]);
  const proc = spawnEtcd(
    binaries.etcd,
    [
      `--name=${name}`,
      `--data-dir=${dataDir}`,
      `--listen-client-urls=${clientUrl}`,
      `--advertise-client-urls=${clientUrl}`,
      `--listen-peer-urls=${peerUrl}`,
      `--initial-advertise-peer-urls=${peerUrl}`,
      `--initial-cluster=${cluster}`,
      ...COMMON_FLAGS,
    ],
    join(base, 'etcd.log'),
  );
  track?.(proc);
  const client = new Etcdctl([clientUrl], undefined, binaries.etcdctl);
  try {
    await waitHealthy(client, [proc], 20_000);
  } catch (err) {
    await stopProcess(proc);
    if (dir === undefined) await rm(base, { recursive: true, force: true });
    throw err;
  }
  const stop = async (): Promise<void> => {
    await stopProcess(proc);
    if (dir === undefined) await rm(base, { recursive: true, force: true });
  };
  return { client, clientUrl, dataDir, pid: proc.pid, stop };
}

/**
 * Kubernetes-shaped keys: `/registry/<resource>/<namespace>/<name>` for every resource in
 * `counts`, spread over `namespaces`. Deterministic, so counts can be asserted exactly.
 * Namespaces are cluster-scoped, as the API server stores them: `namespaces: n` gives
 * `/registry/namespaces/<name>` for the first n of `namespaces` (then `namespace-<i>`), so with
 * n ≥ 2 the `default` and `kube-system` keys a backup insists on are there.
 */
export function registryKeys(
  counts: Readonly<Record<string, number>>,
  namespaces: readonly string[] = ['default', 'kube-system', 'apps', 'monitoring'],
): string[] {
  const keys: string[] = [];
  const namespaceName = (i: number): string => namespaces[i] ?? `namespace-${i}`;
  for (const [resource, count] of Object.entries(counts)) {
    for (let i = 0; i < count; i++) {
      keys.push(
        resource === 'namespaces'
          ? `/registry/namespaces/${namespaceName(i)}`
          : `/registry/${resource}/${namespaces[i % namespaces.length]}/${resource}-${i}`,
      );
    }
  }
  return keys;
}
