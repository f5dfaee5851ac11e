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

/** a client identity for a kubeconfig: the certificate's CN is the user, each O a group */
export interface ClientIdentity extends CertPair {
  user: string;
}

/**
 * The Kubernetes part of a kubeadm PKI, beside the etcd part (`<dir>/etcd/`):
 * `<dir>/{ca,apiserver,apiserver-etcd-client,front-proxy-ca,front-proxy-client}.{crt,key}` and
 * `<dir>/sa.{key,pub}`, plus the client certificates kubeadm embeds in its kubeconfig files
 * (`<dir>/kubeconfig/`).
 */
export interface KubernetesPki {
  dir: string;
  /** the cluster CA: signs the serving certificate and every client certificate */
  ca: CertPair;
  /** serving certificate: SAN 127.0.0.1, localhost and the in-cluster names of the API */
  apiserver: CertPair;
  /** the API server's etcd client certificate, signed by the etcd CA */
  apiserverEtcdClient: CertPair;
  frontProxyCa: CertPair;
  /** the aggregation layer's client certificate (--proxy-client-cert-file) */
  frontProxyClient: CertPair;
  /** service-account token signing key (RSA 2048, as kubeadm makes it) and its public half */
  serviceAccount: { key: string; pub: string };
  /** admin.conf: O=kubeadm:cluster-admins, bound to cluster-admin by a ClusterRoleBinding */
  admin: ClientIdentity;
  /** super-admin.conf: O=system:masters, which no RBAC binding can take away */
  superAdmin: ClientIdentity;
  controllerManager: ClientIdentity;
  scheduler: ClientIdentity;
}

interface SignSpec {
  subject: string;
  extendedKeyUsage: string;
  san?: string;
}

/** a fresh EC P-256 key and a certificate for it signed by `ca` */
async function signedPair(ca: CertPair, pair: CertPair, spec: SignSpec, days: number): Promise<void> {
  const base = pair.cert.replace(/\.crt$/, '');
  const lines = [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature, keyEncipherment',
    `extendedKeyUsage = ${spec.extendedKeyUsage}`,
    ...(spec.san ? [`subjectAltName = ${spec.san}`] : []),
  ];
  await writeFile(`${base}.ext`, `${lines.join('\n')}\n`);
  await ecKey(pair.key);
  await openssl(['req', '-new', '-key', pair.key, '-out', `${base}.csr`, '-subj', spec.subject]);
  await openssl([
    'x509',
    '-req',
    '-in',
    `${base}.csr`,
    '-CA',
    ca.cert,
    '-CAkey',
    ca.key,
    '-set_serial',
    randomSerial(),
    '-days',
    String(days),
    '-extfile',
    `${base}.ext`,
    '-out',
    pair.cert,
  ]);
}

async function selfSignedCa(pair: CertPair, cn: string, days: number): Promise<void> {
  await ecKey(pair.key);
  await openssl([
    'req',
    '-x509',
    '-new',
    '-key',
    pair.key,
    '-out',
    pair.cert,
    '-days',
    String(days),
    '-subj',
    `/CN=${cn}`,
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,digitalSignature,keyEncipherment,keyCertSign',
  ]);
}

/**
 * Generates, with openssl, the certificates and keys kubeadm puts under `/etc/kubernetes/pki` for
 * the API server, next to an existing etcd PKI (its CA signs the API server's etcd client
 * certificate). Valid for `days` (default 2).
 * @throws Error with openssl's stderr when openssl fails.
 */
export async function generateKubernetesPki(dir: string, etcd: EtcdPki, days = 2): Promise<KubernetesPki> {
  const clientDir = join(dir, 'kubeconfig');
  await mkdir(clientDir, { recursive: true, mode: 0o700 });
  const pair = (name: string, under = dir): CertPair => ({
    cert: join(under, `${name}.crt`),
    key: join(under, `${name}.key`),
  });
  const client = (name: string, user: string): ClientIdentity => ({ ...pair(name, clientDir), user });
  const pki: KubernetesPki = {
    dir,
    ca: pair('ca'),
    apiserver: pair('apiserver'),
    apiserverEtcdClient: pair('apiserver-etcd-client'),
    frontProxyCa: pair('front-proxy-ca'),
    frontProxyClient: pair('front-proxy-client'),
    serviceAccount: { key: join(dir, 'sa.key'), pub: join(dir, 'sa.pub') },
    admin: client('admin', 'kubernetes-admin'),
    superAdmin: client('super-admin', 'kubernetes-super-admin'),
    controllerManager: client('controller-manager', 'system:kube-controller-manager'),
    scheduler: client('scheduler', 'system:kube-scheduler'),
  };
  await Promise.all([
    selfSignedCa(pki.ca, 'kubernetes', days),
    selfSignedCa(pki.frontProxyCa, 'front-proxy-ca', days),
    (async () => {
      await openssl([
        'genpkey',
        '-algorithm',
        'RSA',
        '-pkeyopt',
        'rsa_keygen_bits:2048',
        '-out',
        pki.serviceAccount.key,
      ]);
      await openssl(['pkey', '-in', pki.serviceAccount.key, '-pubout', '-out', pki.serviceAccount.pub]);
    })(),
  ]);
  const clientAuth = 'clientAuth';
  await Promise.all([
    signedPair(
      pki.ca,
      pki.apiserver,
      {
        subject: '/CN=kube-apiserver',
        extendedKeyUsage: 'serverAuth',
        san: 'IP:127.0.0.1, IP:10.96.0.1, DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local',
      },
      days,
    ),
    signedPair(
      etcd.ca,
      pki.apiserverEtcdClient,
      { subject: '/CN=kube-apiserver-etcd-client', extendedKeyUsage: clientAuth },
      days,
    ),
    signedPair(
      pki.frontProxyCa,
      pki.frontProxyClient,
      { subject: '/CN=front-proxy-client', extendedKeyUsage: clientAuth },
      days,
    ),
    signedPair(
      pki.ca,
      pki.admin,
      { subject: '/O=kubeadm:cluster-admins/CN=kubernetes-admin', extendedKeyUsage: clientAuth },
      days,
    ),
    signedPair(
      pki.ca,
      pki.superAdmin,
      { subject: '/O=system:masters/CN=kubernetes-super-admin', extendedKeyUsage: clientAuth },
      days,
    ),
    signedPair(
      pki.ca,
      pki.controllerManager,
      { subject: '/CN=system:kube-controller-manager', extendedKeyUsage: clientAuth },
      days,
    ),
    signedPair(
      pki.ca,
      pki.scheduler,
      { subject: '/CN=system:kube-scheduler', extendedKeyUsage: clientAuth },
      days,
    ),
  ]);
  return pki;
}
