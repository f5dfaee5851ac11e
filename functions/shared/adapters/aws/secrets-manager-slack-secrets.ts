import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { SlackSecrets } from '../../ports';
import { rethrowTransient } from './transient';

/** a secret that is not `{"signingSecret": "…", "botToken": "xoxb-…"}` */
export class SlackSecretMalformedError extends Error {
  override readonly name = 'SlackSecretMalformedError';
}

/**
 * The Slack app's secret: read once per cold start (the promise is kept), never logged; the
 * error names the missing field, not the value.
 */
export function secretsManagerSlackSecrets(
  secretId: string,
  client = new SecretsManagerClient({}),
): SlackSecrets {
  let read: Promise<{ signingSecret: string; botToken: string }> | undefined;
  const load = async () => {
    const out = await client.send(new GetSecretValueCommand({ SecretId: secretId })).catch(rethrowTransient);
    let value: { signingSecret?: unknown; botToken?: unknown };
    try {
      value = JSON.parse(out.SecretString ?? '') as typeof value;
    } catch {
      throw new SlackSecretMalformedError(
        `secret ${secretId} is not JSON ({"signingSecret": …, "botToken": …})`,
      );
    }
    if (typeof value.signingSecret !== 'string' || value.signingSecret.length < 8) {
      throw new SlackSecretMalformedError(`secret ${secretId} has no signingSecret`);
    }
    if (typeof value.botToken !== 'string' || !value.botToken.startsWith('xoxb-')) {
      throw new SlackSecretMalformedError(`secret ${secretId} has no botToken (xoxb-…)`);
    }
    return { signingSecret: value.signingSecret, botToken: value.botToken };
  };
  return {
    get() {
      // a failed read is not kept: the next request tries again
      read ??= load().catch((e: unknown) => {
        read = undefined;
        throw e;
      });
      return read;
    },
  };
}
