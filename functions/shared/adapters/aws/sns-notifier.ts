import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import type { Notifier } from '../../ports';
import { rethrowTransient } from './transient';

export function snsNotifier(topicArn: string, client = new SNSClient({})): Notifier {
  return {
    async publish(subject, message, attributes) {
      await client
        .send(
          new PublishCommand({
            TopicArn: topicArn,
            // SNS subjects: ASCII, no newlines, at most 100 characters
            Subject: subject.replace(/[^\x20-\x7e]/g, '?').slice(0, 100),
            Message: message,
            MessageAttributes: Object.fromEntries(
              Object.entries(attributes).map(([k, v]) => [k, { DataType: 'String', StringValue: v }]),
            ),
          }),
        )
        .catch(rethrowTransient);
    },
  };
}
