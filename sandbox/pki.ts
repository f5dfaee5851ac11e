import { execFile } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** a certificate and its private key, as file paths */
export interface CertPair {
  cert: string;
  key: string;
}

/** the etcd part of a kubeadm PKI: `<dir>/etcd/{ca,server,peer,healthcheck-client}.{crt,key}` */
export interface EtcdPki {
  /** the directory given to {@link generateEtcdPki}; the files are under `<dir>/etcd/` */
  dir: string;
  ca: CertPair;
  /** serverAuth + clientAuth, SAN 127.0.0.1 and localhost (kubeadm's etcd/server) */
  server: CertPair;
  /** serverAuth + clientAuth, SAN 127.0.0.1 and localhost (kubeadm's etcd/peer) */
  peer: CertPair;
  /** clientAuth only, the certificate kubeadm's etcd liveness probe and Caretaker use */
  healthcheckClient: CertPair;
}

interface LeafSpec {
  name: 'server' | 'peer' | 'healthcheck-client';
  cn: string;
  extendedKeyUsage: string;
  san?: string;
}

const LEAVES: readonly LeafSpec[] = [
  {
    name: 'server',
    cn: 'etcd-server',
    extendedKeyUsage: 'serverAuth, clientAuth',
    san: 'IP:127.0.0.1, DNS:localhost',
  },
  {
    name: 'peer',
    cn: 'etcd-peer',
    extendedKeyUsage: 'serverAuth, clientAuth',
    san: 'IP:127.0.0.1, DNS:localhost',
  },
  { name: 'healthcheck-client', cn: 'kube-etcd-healthcheck-client', extendedKeyUsage: 'clientAuth' },
];

async function openssl(args: readonly string[]): Promise<void> {
  try {
    await run('openssl', args);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? '';
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim() || String(err)}`);
  }
}

/** a fresh EC P-256 key: fast to generate, accepted by etcd and the Go TLS stack */
async function ecKey(path: string): Promise<void> {
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', path]);
}

function randomSerial(): string {
  return `0x${Array.from({ length: 16 }, () => Math.floor(Math.random() * 16).toString(16)).join('')}1`;
}

/**
 * Generates, with openssl, the etcd certificates laid out the way kubeadm lays them out under
 * `/etc/kubernetes/pki`: `<dir>/etcd/ca.crt|key`, `server`, `peer` and `healthcheck-client`.
 * Keys are EC P-256 (a few milliseconds each); certificates are valid for `days` (default 2).
 * Call it again with another `dir` for a second, unrelated CA (a "wrong CA" test).
 * @throws Error with openssl's stderr when openssl fails.
 */
export async function generateEtcdPki(dir: string, days = 2): Promise<EtcdPki> {
  const etcdDir = join(dir, 'etcd');
  await mkdir(etcdDir, { recursive: true, mode: 0o700 });
  const pair = (name: string): CertPair => ({
    cert: join(etcdDir, `${name}.crt`),
    key: join(etcdDir, `${name}.key`),
  });

  const ca = pair('ca');
  await ecKey(ca.key);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    ca.key,
    '-out',
    ca.cert,
    '-days',
    String(days),
    '-subj',
    '/CN=etcd-ca',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign',
  ]);

  await Promise.all(
    LEAVES.map(async (leaf) => {
      const { cert, key } = pair(leaf.name);
      const csr = join(etcdDir, `${leaf.name}.csr`);
      const ext = join(etcdDir, `${leaf.name}.ext`);
      const lines = [
        'basicConstraints = critical, CA:FALSE',
        'keyUsage = critical, digitalSignature, keyEncipherment',
        `extendedKeyUsage = ${leaf.extendedKeyUsage}`,
        ...(leaf.san ? [`subjectAltName = ${leaf.san}`] : []),
      ];
      await writeFile(ext, `${lines.join('\n')}\n`);
      await ecKey(key);
      await openssl(['req', '-new', '-key', key, '-out', csr, '-subj', `/CN=${leaf.cn}`]);
      await openssl([
        'x509',
        '-req',
        '-in',
        csr,
        '-CA',
        ca.cert,
        '-CAkey',
        ca.key,
        '-set_serial',
        randomSerial(),
        '-days',
        String(days),
        '-extfile',
        ext,
        '-out',
        cert,
      ]);
    }),
  );

  return {
    dir,
    ca,
    server: pair('server'),
    peer: pair('peer'),
    healthcheckClient: pair('healthcheck-client'),
  };
}
