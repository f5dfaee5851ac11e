import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Notifier } from '../../ports';
import { rethrowTransient } from './transient';

/** SNS takes at most 256 KiB per message (UTF-8 bytes, attributes included): room is left for those */
export const SNS_MESSAGE_MAX_BYTES = 256 * 1024 - 4096;

/** the message cut on a character boundary to fit SNS, with a marker saying it was */
export function fitSnsMessage(message: string): string {
  if (Buffer.byteLength(message) <= SNS_MESSAGE_MAX_BYTES) return message;
  const marker = '\n… [message cut to fit SNS] …';
  let cut = Buffer.from(message)
    .subarray(0, SNS_MESSAGE_MAX_BYTES - Buffer.byteLength(marker))
    .toString();
  // a multi-byte character split at the cut decodes to U+FFFD: drop it
  cut = cut.replace(/\uFFFD$/, '');
  return cut + marker;
}

export function snsNotifier(topicArn: string, client = new SNSClient({})): Notifier {
  return {
    async publish(subject, message, attributes) {
      await client
        .send(
          new PublishCommand({
            TopicArn: topicArn,
            // SNS subjects: ASCII, no newlines, at most 100 characters
            Subject: subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 100),
            Message: fitSnsMessage(message),
            MessageAttributes: Object.fromEntries(
              Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
            ),
          }),
        )
        .catch(rethrowTransient);
    },
  };
}
