/**
 * Stands in, in the Lambda bundles only (infra/bundling.ts aliases the packages here), for the
 * links of the SDK's default credential chain that a Lambda never reaches: Lambda passes the
 * role's credentials in AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN and the
 * chain stops at its first link, fromEnv. The real providers and the STS/SSO clients they
 * bring weigh ~90 KB per bundle. Tests, the sandbox and the CLI run unbundled and use the
 * real ones.
 *
 * Each link fails the way a provider that does not apply fails (`tryNextLink`), so the chain
 * goes on to its next link exactly as when, say, no profile is configured.
 */

/** the chain's own error name; `tryNextLink` tells it to try the next link */
class CredentialsNotBundledError extends Error {
  override readonly name = 'CredentialsProviderError';
  readonly tryNextLink = true;
}

const notBundled = (source: string) => () => async (): Promise<never> => {
  throw new CredentialsNotBundledError(
    `${source} credentials are not bundled into Caretaker's Lambda functions: Lambda passes the role's credentials in the environment`,
  );
};

/** @aws-sdk/credential-provider-ini: AWS_PROFILE and the shared config/credentials files */
export const fromIni = notBundled('shared config file (profile)');
/** @aws-sdk/credential-provider-sso: IAM Identity Center */
export const fromSSO = notBundled('IAM Identity Center (SSO)');
/** @aws-sdk/credential-provider-process: credential_process */
export const fromProcess = notBundled('credential_process');
/** @aws-sdk/credential-provider-web-identity: AWS_WEB_IDENTITY_TOKEN_FILE */
export const fromTokenFile = notBundled('web identity token file');
