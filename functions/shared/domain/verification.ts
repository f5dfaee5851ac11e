import type { VerificationResult } from './schemas';

/** the S3 tag restore-verify writes on a snapshot; retention trusts only "true" */
export const VERIFIED_TAG = 'caretaker:verified';

/** the report restore-verify writes beside the snapshot: `<…>-r<rev>.verification.json` */
export function verificationReportKey(snapshotKey: string): string {
  return snapshotKey.replace(/\.db$/, '.verification.json');
}

export interface Verdict {
  verified: boolean;
  failedCheck: string;
  reason: string;
}

/**
 * A snapshot counts as good only when the node says every check passed for exactly this key;
 * anything else (a failed check, a result about another key) is not verified.
 */
export function judge(key: string, result: VerificationResult): Verdict {
  if (result.key !== key) {
    return { verified: false, failedCheck: 'key', reason: `the node verified ${result.key}, not ${key}` };
  }
  const failed = result.checks.find((c) => c.ok === false);
  if (!result.verified || failed) {
    return {
      verified: false,
      failedCheck: result.failedCheck || failed?.name || 'unknown',
      reason: result.reason || failed?.detail || 'the node reported the snapshot unverified',
    };
  }
  return { verified: true, failedCheck: '', reason: result.reason || 'every check passed' };
}
