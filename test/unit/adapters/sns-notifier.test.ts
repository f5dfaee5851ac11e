import { PublishCommand, SNSClient, SNSServiceException } from '@aws-sdk/client-sns';
import { mockClient } from 'aws-sdk-client-mock';
// types for the matchers; jest's setupFilesAfterEnv registers them at run time
import 'aws-sdk-client-mock-jest';
import { snsNotifier } from '../../../functions/shared/adapters/aws/sns-notifier';
import { TransientError } from '../../../functions/shared/errors';

const TOPIC = 'arn:aws:sns:eu-west-1:123456789012:caretaker-notifications';
const sns = mockClient(SNSClient);

function makeNotifier() {
  return snsNotifier(TOPIC, new SNSClient({}));
}

beforeEach(() => {
  sns.reset();
});

describe('publish', () => {
  it('publishes subject, message and each attribute as a String message attribute', async () => {
    // Arrange
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const notifier = makeNotifier();

    // Act
    await notifier.publish('Backup of prod failed', 'etcdctl exited 1', {
      cluster: 'prod',
      workflow: 'backup',
    });

    // Assert
    const expected = {
      TopicArn: TOPIC,
      Subject: 'Backup of prod failed',
      Message: 'etcdctl exited 1',
      MessageAttributes: {
        cluster: { DataType: 'String', StringValue: 'prod' },
        workflow: { DataType: 'String', StringValue: 'backup' },
      },
    };
    expect(sns).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(sns).toHaveReceivedCommandWith(PublishCommand, expected);
    expect(sns.commandCalls(PublishCommand)[0]?.args[0].input).toEqual(expected);
  });

  it('replaces non-ASCII and control characters in the subject, keeping the message as it is', async () => {
    // Arrange
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const notifier = makeNotifier();

    // Act
    await notifier.publish('Backup — prod ✓\nok', 'Grüße — ✓', {});

    // Assert
    expect(sns).toHaveReceivedCommandWith(PublishCommand, {
      Subject: 'Backup ? prod ??ok',
      Message: 'Grüße — ✓',
      MessageAttributes: {},
    });
  });

  it('cuts the subject to 100 characters', async () => {
    // Arrange
    sns.on(PublishCommand).resolves({ MessageId: 'm-1' });
    const notifier = makeNotifier();

    // Act
    await notifier.publish('s'.repeat(150), 'body', {});

    // Assert
    expect(sns).toHaveReceivedCommandWith(PublishCommand, { Subject: 's'.repeat(100) });
  });

  it('fails with TransientError when SNS throttles', async () => {
    // Arrange
    sns.on(PublishCommand).rejects(
      new SNSServiceException({
        name: 'Throttling',
        $fault: 'client',
        $metadata: { httpStatusCode: 400 },
        message: 'Rate exceeded',
      }),
    );
    const notifier = makeNotifier();

    // Act
    const publishing = notifier.publish('s', 'm', {});

    // Assert
    await expect(publishing).rejects.toThrow(TransientError);
  });

  it('rejects with the original error when the topic does not exist', async () => {
    // Arrange
    const missing = new SNSServiceException({
      name: 'NotFoundException',
      $fault: 'client',
      $metadata: { httpStatusCode: 404 },
      message: 'Topic does not exist',
    });
    sns.on(PublishCommand).rejects(missing);
    const notifier = makeNotifier();

    // Act
    const publishing = notifier.publish('s', 'm', {});

    // Assert
    await expect(publishing).rejects.toBe(missing);
  });
});
