// every test runs offline: dummy credentials, no instance metadata, a region that is not
// a real deployment, and loopback-only endpoints set by the tests that need them.
process.env.AWS_ACCESS_KEY_ID = 'test';
process.env.AWS_SECRET_ACCESS_KEY = 'test';
process.env.AWS_REGION = 'eu-west-1';
process.env.AWS_EC2_METADATA_DISABLED = 'true';
process.env.AWS_REQUEST_CHECKSUM_CALCULATION = 'WHEN_REQUIRED';
process.env.AWS_RESPONSE_CHECKSUM_VALIDATION = 'WHEN_REQUIRED';
delete process.env.AWS_PROFILE;
delete process.env.AWS_SESSION_TOKEN;
process.env.POWERTOOLS_DEV = 'false';
process.env.POWERTOOLS_LOG_LEVEL = 'SILENT';
process.env.POWERTOOLS_METRICS_NAMESPACE = 'Caretaker';
process.env.POWERTOOLS_METRICS_DISABLED = 'true';
// Lambda runs nodejs22.x; the tests run on Node 20 on purpose (TOOLCHAIN.md), so the SDK's
// "upgrade to Node 22" warning only buries real output here
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
// a safety net: an SDK client that no test mocked and no test pointed at a local server goes to
// a closed loopback port and fails at once, instead of reaching for real AWS
process.env.AWS_ENDPOINT_URL = 'http://127.0.0.1:9';
