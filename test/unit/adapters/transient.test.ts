import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { rethrowTransient } from '../../../functions/shared/adapters/aws/transient';
import { TransientError } from '../../../functions/shared/errors';

function serviceError(name: string, httpStatusCode: number, extra: object = {}): DynamoDBServiceException {
  return Object.assign(
    new DynamoDBServiceException({
      name,
      $fault: httpStatusCode >= 500 ? 'server' : 'client',
      $metadata: { httpStatusCode },
      message: `${name} happened`,
    }),
    extra,
  );
}

/** what rethrowTransient threw, for asserting on the thrown value itself */
function thrownBy(e: unknown): unknown {
  try {
    rethrowTransient(e);
  } catch (thrown) {
    return thrown;
  }
  throw new Error('rethrowTransient returned');
}

describe('rethrowTransient', () => {
  it.each([
    'ThrottlingException',
    'Throttling',
    'TooManyRequestsException',
    'ProvisionedThroughputExceededException',
    'RequestLimitExceeded',
    'SlowDown',
    'ServiceUnavailable',
    'InternalServerError',
  ])('turns a %s into TransientError carrying name and message', (name) => {
    // Arrange
    const e = serviceError(name, 400);

    // Act
    const thrown = thrownBy(e);

    // Assert
    expect(thrown).toBeInstanceOf(TransientError);
    expect(thrown).toMatchObject({ name: 'TransientError', message: `${name}: ${name} happened` });
  });

  it.each([500, 502, 503, 504])('turns any error with HTTP status %i into TransientError', (status) => {
    // Arrange
    const e = serviceError('UnknownError', status);

    // Act
    const thrown = thrownBy(e);

    // Assert
    expect(thrown).toBeInstanceOf(TransientError);
  });

  it('turns an error the SDK marked retryable into TransientError', () => {
    // Arrange
    const e = serviceError('TransactionConflictException', 400, { $retryable: {} });

    // Act
    const thrown = thrownBy(e);

    // Assert
    expect(thrown).toBeInstanceOf(TransientError);
  });

  it('names a plain retryable object Error when it has no name', () => {
    // Arrange
    const e = { $metadata: { httpStatusCode: 503 } };

    // Act
    const thrown = thrownBy(e);

    // Assert
    expect(thrown).toBeInstanceOf(TransientError);
    expect((thrown as Error).message).toBe('Error: transient AWS error');
  });

  it.each([
    ['an access denial', serviceError('AccessDeniedException', 400)],
    ['a validation error', serviceError('ValidationException', 400)],
    ['a 404', serviceError('ResourceNotFoundException', 404)],
    ['a plain Error', new Error('boom')],
    ['a string', 'boom'],
    ['null', null],
    ['undefined', undefined],
  ])('rethrows %s unchanged', (_label, e) => {
    // Act
    const thrown = thrownBy(e);

    // Assert
    expect(thrown).toBe(e);
    expect(thrown).not.toBeInstanceOf(TransientError);
  });
});
