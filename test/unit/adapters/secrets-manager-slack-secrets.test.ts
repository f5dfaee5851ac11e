import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import {
  secretsManagerSlackSecrets,
  SlackSecretMalformedError,
} from '../../../functions/shared/adapters/aws/secrets-manager-slack-secrets';

const sm = mockClient(SecretsManagerClient);
const ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:SlackSecret-abc';
const VALUE = { signingSecret: 'the-signing-secret-value', botToken: 'xoxb-the-bot-token' };

beforeEach(() => sm.reset());

describe('the Slack secret from Secrets Manager', () => {
  it('reads it once per cold start, however many requests ask', async () => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: JSON.stringify(VALUE) });
    const secrets = secretsManagerSlackSecrets(ARN, new SecretsManagerClient({}));

    const all = await Promise.all([secrets.get(), secrets.get(), secrets.get()]);

    expect(all).toEqual([VALUE, VALUE, VALUE]);
    expect(sm).toHaveReceivedCommandTimes(GetSecretValueCommand, 1);
    expect(sm).toHaveReceivedCommandWith(GetSecretValueCommand, { SecretId: ARN });
  });

  it('tries again after a failed read instead of keeping the failure', async () => {
    sm.on(GetSecretValueCommand)
      .rejectsOnce(
        Object.assign(new Error('throttled'), {
          name: 'ThrottlingException',
          $metadata: { httpStatusCode: 400 },
        }),
      )
      .resolves({ SecretString: JSON.stringify(VALUE) });
    const secrets = secretsManagerSlackSecrets(ARN, new SecretsManagerClient({}));

    await expect(secrets.get()).rejects.toThrow();
    await expect(secrets.get()).resolves.toEqual(VALUE);
  });

  it.each([
    ['not JSON', 'xoxb-plain', /is not JSON/],
    ['without a signing secret', JSON.stringify({ botToken: 'xoxb-1' }), /has no signingSecret/],
    [
      'with a bot token that is not xoxb-',
      JSON.stringify({ signingSecret: 'long-enough-secret', botToken: 'xoxp-user-token' }),
      /has no botToken/,
    ],
    [
      'still the placeholder',
      JSON.stringify({ signingSecret: 'Abc123random', botToken: 'xoxb-replace-me' }),
      null,
    ],
  ])('rejects a secret %s, naming the field and never the value', async (_name, value, message) => {
    sm.on(GetSecretValueCommand).resolves({ SecretString: value });
    const secrets = secretsManagerSlackSecrets(ARN, new SecretsManagerClient({}));

    if (message === null) {
      // the placeholder has the right shape; Slack's signatures then simply never match (401)
      await expect(secrets.get()).resolves.toMatchObject({ botToken: 'xoxb-replace-me' });
      return;
    }
    const error = await secrets.get().catch((e: unknown) => e as Error);
    expect(error).toBeInstanceOf(SlackSecretMalformedError);
    expect((error as Error).message).toMatch(message);
    expect((error as Error).message).not.toContain('xoxb-1');
    expect((error as Error).message).not.toContain('long-enough-secret');
  });
});
