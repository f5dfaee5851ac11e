import { manifest as manifestSchema, type SnapshotResult } from '../shared/domain/schemas';
import { MANIFEST_KINDS, manifestKeyFor, parseAnySnapshotKey } from '../shared/domain/snapshot-key';
import { CorruptObjectError, UploadMismatchError } from '../shared/errors';
import type { SnapshotStore } from '../shared/ports';

export interface VerifyUploadDeps {
  store: SnapshotStore;
  bucket: string;
}

/**
 * Checks what is really in S3, not what the node said it uploaded: the object exists, its size
 * and sha256/revision metadata match the manifest beside it, and both match the node's report.
 * It reads the object's head and the manifest only, never the snapshot itself: the node hashed
 * the file before uploading it, and restore verification re-hashes what it downloads.
 * @throws UploadMismatchError naming every field that differs, or a manifest that is not JSON.
 */
export async function verifyUpload(
  input: { cluster: string; snapshot: SnapshotResult },
  deps: VerifyUploadDeps,
) {
  const { snapshot, cluster } = input;
  const problems: string[] = [];
  // either series: the manifest's kind must then say the same etcd the key does
  const ref = parseAnySnapshotKey(snapshot.key);
  if (snapshot.bucket !== deps.bucket)
    problems.push(`bucket: node wrote to ${snapshot.bucket}, expected ${deps.bucket}`);
  if (!ref || ref.cluster !== cluster)
    problems.push(`key: ${snapshot.key} is not a snapshot key of cluster ${cluster}`);
  if (snapshot.manifestKey !== manifestKeyFor(snapshot.key)) {
    problems.push(`manifestKey: ${snapshot.manifestKey} is not beside ${snapshot.key}`);
  }
  if (problems.length > 0) throw new UploadMismatchError(`upload check failed: ${problems.join('; ')}`);

  const head = await deps.store.head(snapshot.key);
  if (!head)
    throw new UploadMismatchError(`upload check failed: s3://${deps.bucket}/${snapshot.key} does not exist`);
  const raw = await deps.store.getJson(snapshot.manifestKey).catch((e: unknown) => {
    if (e instanceof CorruptObjectError)
      throw new UploadMismatchError(`upload check failed: manifest ${e.message}`);
    throw e;
  });
  const parsed = manifestSchema.safeParse(raw);
  if (!parsed.success) {
    throw new UploadMismatchError(
      `upload check failed: manifest s3://${deps.bucket}/${snapshot.manifestKey} is ${raw === undefined ? 'missing' : 'malformed: ' + parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
    );
  }
  const m = parsed.data;
  const compare = (field: string, actual: unknown, expected: unknown) => {
    if (String(actual) !== String(expected))
      problems.push(`${field}: ${String(actual)} ≠ manifest ${String(expected)}`);
  };
  compare('object size', head.size, m.size);
  compare('object metadata sha256', head.metadata.sha256, m.sha256);
  compare('object metadata revision', head.metadata.revision, m.revision);
  compare('reported sha256', snapshot.sha256, m.sha256);
  compare('reported size', snapshot.size, m.size);
  compare('reported revision', snapshot.revision, m.revision);
  compare('manifest key', snapshot.key, m.key);
  compare('manifest cluster', cluster, m.cluster);
  if (ref) compare('manifest kind', m.kind ?? MANIFEST_KINDS.main, MANIFEST_KINDS[ref.series]);
  if (problems.length > 0)
    throw new UploadMismatchError(`upload check failed for ${snapshot.key}: ${problems.join('; ')}`);

  return {
    bucket: deps.bucket,
    key: snapshot.key,
    manifestKey: snapshot.manifestKey,
    size: m.size,
    sha256: m.sha256,
    revision: m.revision,
    totalKeys: m.totalKeys,
  };
}
