/**
 * What the tests of the etcd node scripts (ssm-documents/etcd-*.sh run against a real etcd) share:
 * a temporary folder with an etcd PKI for the file, the parameters every etcd document takes for
 * a member of a host etcd, and a script run spelled out for an assertion message.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EtcdCluster } from '../../sandbox/etcd-cluster';
import { generateEtcdPki, type EtcdPki } from '../../sandbox/pki';
import type { ScriptRun } from '../../sandbox/run-script';

/** a script run as an assertion message: its exit code, stdout and stderr */
export function explain(run: ScriptRun): string {
  return `exit ${run.exitCode}\n--- stdout ---\n${run.stdout}\n--- stderr ---\n${run.stderr}`;
}

export interface EtcdPkiFixture {
  /** the file's temporary folder (the PKI is in `<root>/pki`) */
  readonly root: string;
  readonly pki: EtcdPki;
}

/**
 * A temporary folder `caretaker-<name>-…` with an etcd PKI, made in a beforeAll and removed in
 * an afterAll of the file. Call it at the top of the file, and start etcd in a describe block's
 * beforeAll (its afterAll, which stops etcd, runs before the top level's removes the folder).
 * The fields are there once the beforeAll has run.
 */
export function etcdPkiFixture(name: string): EtcdPkiFixture {
  const fixture = {} as { root: string; pki: EtcdPki };
  beforeAll(async () => {
    fixture.root = await mkdtemp(join(tmpdir(), `caretaker-${name}-`));
    fixture.pki = await generateEtcdPki(join(fixture.root, 'pki'));
  });
  afterAll(async () => {
    if (fixture.root) await rm(fixture.root, { recursive: true, force: true });
  });
  return fixture;
}

/**
 * The parameters every etcd document takes, for member `member` of an etcd started on this host
 * with `pki`: its client port, the CA and the healthcheck client's certificate, etcdctl on PATH.
 */
export function hostEtcdParams(etcd: EtcdCluster, member: number, pki: EtcdPki): Record<string, string> {
  return {
    EtcdPort: String(etcd.member(member).clientPort),
    CaFile: pki.ca.cert,
    CertFile: pki.healthcheckClient.cert,
    KeyFile: pki.healthcheckClient.key,
    EtcdctlMode: 'host',
  };
}
