/**
 * Slack's v0 request signature (https://api.slack.com/authentication/verifying-requests-from-slack):
 * `X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:<X-Slack-Request-Timestamp>:<raw body>")>`.
 * Checked before anything else reads the request. No AWS imports.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** Slack's own window: a request older (or newer) than this is a replay */
export const MAX_SKEW_SECONDS = 5 * 60;
/** no Slack request we accept is bigger (a slash command or a button press is a few KB) */
export const MAX_BODY_BYTES = 64 * 1024;

export interface SignedRequest {
  /** header names in any case, as API Gateway / function URLs pass them */
  headers: Readonly<Record<string, string | undefined>>;
  body?: string;
  isBase64Encoded: boolean;
}

export type VerifyResult = { ok: true; rawBody: string; timestamp: number } | { ok: false; reason: string };

const TIMESTAMP = /^[0-9]{1,12}$/;
const SIGNATURE = /^v0=[0-9a-f]{64}$/;

/** the header, case-insensitively; undefined when absent or given twice (comma-joined) */
export function header(headers: SignedRequest['headers'], name: string): string | undefined {
  const wanted = name.toLowerCase();
  const found = Object.entries(headers).filter(([k]) => k.toLowerCase() === wanted);
  if (found.length !== 1) return undefined;
  return found[0]![1];
}

/** the raw body as Slack signed it: base64 bodies decoded, byte for byte */
export function rawBodyOf(request: Pick<SignedRequest, 'body' | 'isBase64Encoded'>): Buffer | undefined {
  if (request.body === undefined) return undefined;
  if (!request.isBase64Encoded) return Buffer.from(request.body, 'utf8');
  // Buffer.from ignores bad characters; a body that does not round-trip was not base64
  const decoded = Buffer.from(request.body, 'base64');
  return decoded.toString('base64').replace(/=+$/, '') === request.body.replace(/=+$/, '')
    ? decoded
    : undefined;
}

/** `v0=<hex>` for a body at a timestamp (the sandbox and tests sign as Slack does with this) */
export function signSlackRequest(
  secret: string,
  timestamp: number | string,
  rawBody: string | Buffer,
): string {
  const mac = createHmac('sha256', secret);
  mac.update(`v0:${timestamp}:`);
  mac.update(rawBody);
  return `v0=${mac.digest('hex')}`;
}

/**
 * Verifies a request as Slack signs it. The reason names what failed (for the log), never the
 * body or the expected signature.
 */
export function verifySlackRequest(request: SignedRequest, secret: string, now: Date): VerifyResult {
  if (!secret) return { ok: false, reason: 'no signing secret configured' };
  const timestampHeader = header(request.headers, 'x-slack-request-timestamp');
  const signature = header(request.headers, 'x-slack-signature');
  if (timestampHeader === undefined) return { ok: false, reason: 'missing X-Slack-Request-Timestamp' };
  if (signature === undefined) return { ok: false, reason: 'missing X-Slack-Signature' };
  if (!TIMESTAMP.test(timestampHeader)) return { ok: false, reason: 'malformed X-Slack-Request-Timestamp' };
  if (!SIGNATURE.test(signature)) return { ok: false, reason: 'malformed X-Slack-Signature' };
  const timestamp = Number(timestampHeader);
  if (Math.abs(now.getTime() / 1000 - timestamp) > MAX_SKEW_SECONDS) {
    return { ok: false, reason: 'X-Slack-Request-Timestamp is more than 5 minutes from now' };
  }
  const raw = rawBodyOf(request);
  if (raw === undefined) return { ok: false, reason: 'no body, or a body that is not valid base64' };
  if (raw.length > MAX_BODY_BYTES) return { ok: false, reason: `body over ${MAX_BODY_BYTES} bytes` };
  const expected = Buffer.from(signSlackRequest(secret, timestampHeader, raw), 'utf8');
  const given = Buffer.from(signature, 'utf8');
  // both are "v0=" + 64 hex characters here, so the lengths match and the compare is constant-time
  if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
    return { ok: false, reason: 'signature does not match' };
  }
  const rawBody = raw.toString('utf8');
  // a body that is not UTF-8 was not sent by Slack
  if (!Buffer.from(rawBody, 'utf8').equals(raw)) return { ok: false, reason: 'body is not UTF-8' };
  return { ok: true, rawBody, timestamp };
}
