import type { VerificationResult } from '../shared/domain/schemas';
import { parseAnySnapshotKey } from '../shared/domain/snapshot-key';
import { judge, VERIFIED_TAG, verificationReportKey, type Verdict } from '../shared/domain/verification';
import { InvalidInputError } from '../shared/errors';
import {
  etcdManagerVerificationKey,
  parseEtcdManagerKey,
  type EtcdManagerBackupRef,
} from '../shared/domain/etcd-manager';
import type { Clock, MetricSink, SnapshotStore } from '../shared/ports';

export interface RecordVerificationDeps {
  store: SnapshotStore;
  metrics: MetricSink;
  clock: Clock;
}

/**
 * Records what a restore proved: the `caretaker:verified` tag (which retention trusts), the
 * report beside the snapshot, and the figures (Verified, RestoreSeconds = the measured RTO,
 * SnapshotAgeAtVerifySeconds) as log fields of the EMF line. Not `SnapshotAgeSeconds`: that name
 * is the probe's catalogued metric, and the sink would publish this age into it.
 * @throws InvalidInputError for a key that is not this cluster's snapshot
 */
export async function recordVerification(
  input: { cluster: string; executionId: string; key: string; verification: VerificationResult },
  deps: RecordVerificationDeps,
) {
  const backup = parseEtcdManagerKey(input.key);
  if (backup) return recordEtcdManagerVerification(input, backup, deps);
  // either series: kops' events snapshots are judged and tagged the same way
  const ref = parseAnySnapshotKey(input.key);
  if (!ref || ref.cluster !== input.cluster) {
    throw new InvalidInputError(`key: "${input.key}" is not a snapshot key of cluster ${input.cluster}`);
  }
  const now = deps.clock.now();
  const verdict = judge(input.key, input.verification);
  const existing = await deps.store.getTags(input.key);
  await deps.store.putTags(input.key, {
    ...existing,
    [VERIFIED_TAG]: String(verdict.verified),
    'caretaker:verified-at': now.toISOString(),
    'caretaker:verified-by': input.executionId.slice(0, 256),
  });
  return reportAndMeasure(input, deps, {
    now,
    verdict,
    takenAt: ref.takenAt,
    reportKey: verificationReportKey(input.key),
  });
}

type RecordInput = { cluster: string; executionId: string; key: string; verification: VerificationResult };

/**
 * The verdict on one of etcd-manager's own backups (kops, backup.source etcd-manager): the state
 * store is read-only to Caretaker, so nothing is tagged there; the record goes to Caretaker's own
 * bucket (`<cluster>/etcd-manager/<main|events>/<name>.verification.json`), which pick-snapshot
 * reads as "judged", and the same metrics feed the same Verified alarm.
 */
async function recordEtcdManagerVerification(
  input: RecordInput,
  backup: EtcdManagerBackupRef,
  deps: RecordVerificationDeps,
) {
  return reportAndMeasure(input, deps, {
    now: deps.clock.now(),
    verdict: judge(input.key, input.verification),
    takenAt: backup.takenAt,
    reportKey: etcdManagerVerificationKey(input.cluster, backup),
    extra: { source: 'etcd-manager', etcdCluster: backup.cluster, backup: backup.name },
  });
}

/** the report (what every check said) and the metrics the Verified alarm watches */
async function reportAndMeasure(
  input: RecordInput,
  deps: RecordVerificationDeps,
  r: { now: Date; verdict: Verdict; takenAt: Date; reportKey: string; extra?: Record<string, string> },
) {
  const ageSeconds = Math.round((r.now.getTime() - r.takenAt.getTime()) / 1000);
  const v = input.verification;
  await deps.store.putJson(r.reportKey, {
    formatVersion: 1,
    ...r.extra,
    key: input.key,
    ...r.verdict,
    checks: v.checks,
    revision: v.revision ?? null,
    totalKeys: v.totalKeys ?? null,
    restoreSeconds: v.restoreSeconds ?? null,
    etcdVersion: v.etcdVersion,
    restoreTool: v.restoreTool ?? null,
    revisionBump: v.revisionBump,
    snapshotAgeSeconds: ageSeconds,
    verifiedAt: r.now.toISOString(),
    verifiedBy: input.executionId,
    scratchInstanceId: v.instanceId,
  });
  await deps.metrics.record(
    { cluster: input.cluster, workflow: 'restore-verify' },
    {
      Verified: { value: r.verdict.verified ? 1 : 0, unit: 'Count' },
      SnapshotAgeAtVerifySeconds: { value: ageSeconds, unit: 'Seconds' },
      ...(v.restoreSeconds != null && {
        RestoreSeconds: { value: v.restoreSeconds, unit: 'Seconds' as const },
      }),
    },
  );
  return { ...r.verdict, key: input.key, reportKey: r.reportKey, restoreSeconds: v.restoreSeconds ?? null };
}
