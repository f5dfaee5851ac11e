import type { VerificationResult } from '../shared/domain/schemas';
import { parseSnapshotKey } from '../shared/domain/snapshot-key';
import { judge, VERIFIED_TAG, verificationReportKey } from '../shared/domain/verification';
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
 * report beside the snapshot, and metrics (Verified, RestoreSeconds = the measured RTO,
 * SnapshotAgeSeconds).
 * @throws InvalidInputError for a key that is not this cluster's snapshot
 */
export async function recordVerification(
  input: { cluster: string; executionId: string; key: string; verification: VerificationResult },
  deps: RecordVerificationDeps,
) {
  const backup = parseEtcdManagerKey(input.key);
  if (backup) return recordEtcdManagerVerification(input, backup, deps);
  const ref = parseSnapshotKey(input.key);
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
  const ageSeconds = Math.round((now.getTime() - ref.takenAt.getTime()) / 1000);
  const reportKey = verificationReportKey(input.key);
  await deps.store.putJson(reportKey, {
    formatVersion: 1,
    key: input.key,
    ...verdict,
    checks: input.verification.checks,
    revision: input.verification.revision,
    totalKeys: input.verification.totalKeys,
    restoreSeconds: input.verification.restoreSeconds,
    etcdVersion: input.verification.etcdVersion,
    restoreTool: input.verification.restoreTool ?? null,
    revisionBump: input.verification.revisionBump,
    snapshotAgeSeconds: ageSeconds,
    verifiedAt: now.toISOString(),
    verifiedBy: input.executionId,
    scratchInstanceId: input.verification.instanceId,
  });
  await deps.metrics.record(
    { cluster: input.cluster, workflow: 'restore-verify' },
    {
      Verified: { value: verdict.verified ? 1 : 0, unit: 'Count' },
      SnapshotAgeSeconds: { value: ageSeconds, unit: 'Seconds' },
      ...(input.verification.restoreSeconds != null && {
        RestoreSeconds: { value: input.verification.restoreSeconds, unit: 'Seconds' as const },
      }),
    },
  );
  return { ...verdict, key: input.key, reportKey, restoreSeconds: input.verification.restoreSeconds ?? null };
}

/**
 * The verdict on one of etcd-manager's own backups (kops, backup.source etcd-manager): the state
 * store is read-only to Caretaker, so nothing is tagged there; the record goes to Caretaker's own
 * bucket (`<cluster>/etcd-manager/<main|events>/<name>.verification.json`), which pick-snapshot
 * reads as "judged", and the same metrics feed the same Verified alarm.
 */
async function recordEtcdManagerVerification(
  input: { cluster: string; executionId: string; key: string; verification: VerificationResult },
  backup: EtcdManagerBackupRef,
  deps: RecordVerificationDeps,
) {
  const now = deps.clock.now();
  const verdict = judge(input.key, input.verification);
  const ageSeconds = Math.round((now.getTime() - backup.takenAt.getTime()) / 1000);
  const reportKey = etcdManagerVerificationKey(input.cluster, backup);
  await deps.store.putJson(reportKey, {
    formatVersion: 1,
    source: 'etcd-manager',
    key: input.key,
    etcdCluster: backup.cluster,
    backup: backup.name,
    ...verdict,
    checks: input.verification.checks,
    revision: input.verification.revision ?? null,
    totalKeys: input.verification.totalKeys ?? null,
    restoreSeconds: input.verification.restoreSeconds ?? null,
    etcdVersion: input.verification.etcdVersion,
    restoreTool: input.verification.restoreTool ?? null,
    revisionBump: input.verification.revisionBump,
    snapshotAgeSeconds: ageSeconds,
    verifiedAt: now.toISOString(),
    verifiedBy: input.executionId,
    scratchInstanceId: input.verification.instanceId,
  });
  await deps.metrics.record(
    { cluster: input.cluster, workflow: 'restore-verify' },
    {
      Verified: { value: verdict.verified ? 1 : 0, unit: 'Count' },
      SnapshotAgeSeconds: { value: ageSeconds, unit: 'Seconds' },
      ...(input.verification.restoreSeconds != null && {
        RestoreSeconds: { value: input.verification.restoreSeconds, unit: 'Seconds' as const },
      }),
    },
  );
  return { ...verdict, key: input.key, reportKey, restoreSeconds: input.verification.restoreSeconds ?? null };
}
