import {
  signSlackRequest,
  verifySlackRequest,
  type SignedRequest,
} from '../../../functions/shared/domain/slack-signature';

/**
 * Slack's own example, from "Verifying requests from Slack"
 * (https://api.slack.com/authentication/verifying-requests-from-slack): its signing secret,
 * timestamp, slash-command body and the signature Slack sent.
 */
const SLACK_SECRET = '8f742231b10e8888abcd99yyyzzz85a5';
const SLACK_TIMESTAMP = '1531420618';
const SLACK_BODY =
  'token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c';
const SLACK_SIGNATURE = 'v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503';
/** the clock at the example's timestamp */
const AT = new Date(Number(SLACK_TIMESTAMP) * 1000);

const example = (
  over: Partial<SignedRequest> = {},
  headers: Record<string, string | undefined> = {},
): SignedRequest => ({
  headers: {
    'X-Slack-Request-Timestamp': SLACK_TIMESTAMP,
    'X-Slack-Signature': SLACK_SIGNATURE,
    'Content-Type': 'application/x-www-form-urlencoded',
    ...headers,
  },
  body: SLACK_BODY,
  isBase64Encoded: false,
  ...over,
});

describe("Slack's v0 request signature", () => {
  it("verifies Slack's own documented example request with the clock at its timestamp", () => {
    const result = verifySlackRequest(example(), SLACK_SECRET, AT);

    expect(result).toEqual({ ok: true, rawBody: SLACK_BODY, timestamp: 1531420618 });
  });

  it('signs the example exactly as Slack did', () => {
    expect(signSlackRequest(SLACK_SECRET, SLACK_TIMESTAMP, SLACK_BODY)).toBe(SLACK_SIGNATURE);
  });

  it('verifies the example delivered base64-encoded (function URLs may encode bodies), decoding first', () => {
    const result = verifySlackRequest(
      example({ body: Buffer.from(SLACK_BODY).toString('base64'), isBase64Encoded: true }),
      SLACK_SECRET,
      AT,
    );
    expect(result.ok).toBe(true);
  });

  it('reads header names in any case', () => {
    const lower = example({}, { 'X-Slack-Request-Timestamp': undefined, 'X-Slack-Signature': undefined });
    lower.headers = { 'x-slack-request-timestamp': SLACK_TIMESTAMP, 'x-slack-signature': SLACK_SIGNATURE };
    expect(verifySlackRequest(lower, SLACK_SECRET, AT).ok).toBe(true);
  });

  it('accepts the example up to 5 minutes either side of its timestamp', () => {
    expect(verifySlackRequest(example(), SLACK_SECRET, new Date(AT.getTime() + 300_000)).ok).toBe(true);
    expect(verifySlackRequest(example(), SLACK_SECRET, new Date(AT.getTime() - 300_000)).ok).toBe(true);
  });

  const rejected: [string, () => ReturnType<typeof verifySlackRequest>, RegExp][] = [
    [
      'forged: signed with another secret',
      () => verifySlackRequest(example(), 'not-the-secret-0000', AT),
      /does not match/,
    ],
    [
      'forged: a signature computed for another body',
      () =>
        verifySlackRequest(example({ body: SLACK_BODY.replace('roadrunner', 'coyote') }), SLACK_SECRET, AT),
      /does not match/,
    ],
    [
      'replayed: the example 5 minutes and 1 second later',
      () => verifySlackRequest(example(), SLACK_SECRET, new Date(AT.getTime() + 301_000)),
      /more than 5 minutes/,
    ],
    [
      'replayed with a fresh timestamp but the old signature',
      () =>
        verifySlackRequest(
          example({}, { 'X-Slack-Request-Timestamp': '1531420918' }),
          SLACK_SECRET,
          new Date(1531420918 * 1000),
        ),
      /does not match/,
    ],
    [
      'stale: a day old',
      () => verifySlackRequest(example(), SLACK_SECRET, new Date(AT.getTime() + 86_400_000)),
      /more than 5 minutes/,
    ],
    [
      'from the future: 6 minutes ahead',
      () => verifySlackRequest(example(), SLACK_SECRET, new Date(AT.getTime() - 360_000)),
      /more than 5 minutes/,
    ],
    [
      're-encoded: the form body decoded (%2F → /)',
      () => verifySlackRequest(example({ body: decodeURIComponent(SLACK_BODY) }), SLACK_SECRET, AT),
      /does not match/,
    ],
    [
      're-encoded: parsed and serialized again (field order, encoding)',
      () =>
        verifySlackRequest(
          example({ body: new URLSearchParams([...new URLSearchParams(SLACK_BODY)].reverse()).toString() }),
          SLACK_SECRET,
          AT,
        ),
      /does not match/,
    ],
    [
      're-encoded: base64 of the body but flagged as plain',
      () =>
        verifySlackRequest(example({ body: Buffer.from(SLACK_BODY).toString('base64') }), SLACK_SECRET, AT),
      /does not match/,
    ],
    [
      're-encoded: a plain body flagged as base64',
      () => verifySlackRequest(example({ isBase64Encoded: true }), SLACK_SECRET, AT),
      /base64|does not match/,
    ],
    [
      'truncated body',
      () => verifySlackRequest(example({ body: SLACK_BODY.slice(0, -1) }), SLACK_SECRET, AT),
      /does not match/,
    ],
    ['empty body', () => verifySlackRequest(example({ body: '' }), SLACK_SECRET, AT), /does not match/],
    ['no body', () => verifySlackRequest(example({ body: undefined }), SLACK_SECRET, AT), /no body/],
    [
      'truncated signature',
      () =>
        verifySlackRequest(
          example({}, { 'X-Slack-Signature': SLACK_SIGNATURE.slice(0, -1) }),
          SLACK_SECRET,
          AT,
        ),
      /malformed X-Slack-Signature/,
    ],
    [
      'signature in upper case hex',
      () =>
        verifySlackRequest(
          example({}, { 'X-Slack-Signature': `v0=${SLACK_SIGNATURE.slice(3).toUpperCase()}` }),
          SLACK_SECRET,
          AT,
        ),
      /malformed X-Slack-Signature/,
    ],
    [
      'another version prefix',
      () =>
        verifySlackRequest(
          example({}, { 'X-Slack-Signature': SLACK_SIGNATURE.replace('v0=', 'v1=') }),
          SLACK_SECRET,
          AT,
        ),
      /malformed X-Slack-Signature/,
    ],
    [
      'missing signature header',
      () => verifySlackRequest(example({}, { 'X-Slack-Signature': undefined }), SLACK_SECRET, AT),
      /missing X-Slack-Signature/,
    ],
    [
      'missing timestamp header',
      () => verifySlackRequest(example({}, { 'X-Slack-Request-Timestamp': undefined }), SLACK_SECRET, AT),
      /missing X-Slack-Request-Timestamp/,
    ],
    [
      'a timestamp that is not a number',
      () =>
        verifySlackRequest(example({}, { 'X-Slack-Request-Timestamp': '1531420618.5' }), SLACK_SECRET, AT),
      /malformed X-Slack-Request-Timestamp/,
    ],
    [
      'two signature headers',
      () => verifySlackRequest(example({}, { 'x-slack-signature': SLACK_SIGNATURE }), SLACK_SECRET, AT),
      /missing X-Slack-Signature/,
    ],
    ['no signing secret configured', () => verifySlackRequest(example(), '', AT), /no signing secret/],
  ];

  it.each(rejected)('rejects %s', (_name, verify, reason) => {
    const result = verify();

    expect(result.ok).toBe(false);
    expect(result).toMatchObject({ reason: expect.stringMatching(reason) });
  });

  it('rejects a body over 64 KiB even when signed', () => {
    const body = `text=${'a'.repeat(70_000)}`;
    const signature = signSlackRequest(SLACK_SECRET, SLACK_TIMESTAMP, body);
    const result = verifySlackRequest(
      example({ body }, { 'X-Slack-Signature': signature }),
      SLACK_SECRET,
      AT,
    );
    expect(result).toEqual({ ok: false, reason: 'body over 65536 bytes' });
  });

  it('never puts the body or the expected signature in its reason', () => {
    const result = verifySlackRequest(example(), 'not-the-secret-0000', AT);
    const reason = result.ok ? '' : result.reason;
    expect(reason).not.toContain('roadrunner');
    expect(reason).not.toMatch(/[0-9a-f]{64}/);
  });
});
