import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

describe('the offline test environment', () => {
  it('sends an SDK call that no test mocked to a closed loopback port, never to AWS', async () => {
    const client = new SSMClient({ maxAttempts: 1 });
    try {
      await expect(client.send(new GetParameterCommand({ Name: '/caretaker/clusters/x' }))).rejects.toThrow(
        /ECONNREFUSED 127\.0\.0\.1:9/,
      );
    } finally {
      client.destroy();
    }
  });
});
