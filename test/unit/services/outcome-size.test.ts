import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
import 'aws-sdk-client-mock-jest';
import { CAUSE_MAX_CHARS, publishOutcome } from '../../../functions/publish-outcome/service';
import { SNS_MESSAGE_MAX_BYTES, snsNotifier } from '../../../functions/shared/adapters/aws/sns-notifier';
import { fixedClock, recordingMetrics, recordingNotifier } from '../../support/fakes';

const failed = (cause: string) => ({
  cluster: 'prod-eu',
  workflow: 'etcd-backup',
  outcome: 'Failed' as const,
  executionId: 'arn:aws:states:eu-west-1:123456789012:execution:backup:run-1',
  startedAt: '2026-11-25T05:59:00.000Z',
  error: { Error: 'CommandFailedError', Cause: cause },
});

describe('outcome messages stay within what SNS takes', () => {
  it('cuts a huge error cause, keeping its start and its end, and says so', async () => {
    const notifier = recordingNotifier();
    const cause = `etcd-snapshot on i-1 ended Failed\n${'progress line\n'.repeat(30_000)}Error: disk full`;

    await publishOutcome(failed(cause), { notifier, metrics: recordingMetrics(), clock: fixedClock() });

    const message = notifier.messages[0]!.message;
    expect(message.length).toBeLessThan(CAUSE_MAX_CHARS + 1000);
    expect(message).toMatch(/etcd-snapshot on i-1 ended Failed/);
    expect(message).toMatch(/characters cut\]/);
    expect(message).toMatch(/Error: disk full/);
  });

  it('cuts a message over the SNS limit to fit, on a character boundary, with a marker', async () => {
    const sns = mockClient(SNSClient);
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });

    await snsNotifier('arn:aws:sns:eu-west-1:123456789012:t', new SNSClient({})).publish(
      'subject',
      'ä'.repeat(200_000),
      {},
    );

    const sent = String(sns.commandCalls(PublishCommand)[0]!.args[0].input.Message);
    expect(Buffer.byteLength(sent)).toBeLessThanOrEqual(SNS_MESSAGE_MAX_BYTES);
    expect(sent).toMatch(/ä\n… \[message cut to fit SNS\] …$/);
    sns.restore();
  });
});
