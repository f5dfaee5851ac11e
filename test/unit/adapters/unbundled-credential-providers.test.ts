import {
  fromIni,
  fromProcess,
  fromSSO,
  fromTokenFile,
} from '../../../functions/shared/adapters/aws/unbundled-credential-providers';

describe('the credential providers left out of the Lambda bundles', () => {
  it.each([
    ['fromIni', fromIni],
    ['fromSSO', fromSSO],
    ['fromProcess', fromProcess],
    ['fromTokenFile', fromTokenFile],
  ])('%s fails over to the next link of the credential chain', async (_name, provider) => {
    // Arrange
    const credentials = provider();

    // Act
    const resolving = credentials();

    // Assert: what the SDK's chain checks to go on to its next link
    await expect(resolving).rejects.toMatchObject({
      name: 'CredentialsProviderError',
      tryNextLink: true,
      message: expect.stringContaining('not bundled'),
    });
  });
});
