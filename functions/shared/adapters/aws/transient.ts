import { TransientError } from '../../errors';

interface SdkError {
  name?: string;
  message?: string;
  $retryable?: unknown;
  $metadata?: { httpStatusCode?: number };
}

const THROTTLING = new Set([
  'ThrottlingException',
  'Throttling',
  'TooManyRequestsException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'SlowDown',
  'ServiceUnavailable',
  'InternalServerError',
]);

/**
 * After the SDK's own retries, a throttle or 5xx becomes TransientError, which the state
 * machines retry with backoff; anything else is rethrown as it is.
 */
export function rethrowTransient(e: unknown): never {
  const err = e as SdkError;
  const status = err?.$metadata?.httpStatusCode ?? 0;
  if (err && (THROTTLING.has(err.name ?? '') || err.$retryable || status >= 500)) {
    throw new TransientError(`${err.name ?? 'Error'}: ${err.message ?? 'transient AWS error'}`);
  }
  throw e;
}
