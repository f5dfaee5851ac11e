import { GetParameterCommand, ParameterNotFound, SSMClient, SSMServiceException } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
// types for the matchers; jest's setupFilesAfterEnv registers them at run time
import 'aws-sdk-client-mock-jest';
import { ssmClusterDirectory } from '../../../functions/shared/adapters/aws/ssm-cluster-directory';
import type { ClusterConfig } from '../../../functions/shared/domain/config';
import { ClusterNotFoundError, TransientError } from '../../../functions/shared/errors';

const PREFIX = '/caretaker/clusters';
const ssm = mockClient(SSMClient);

const prod: ClusterConfig = {
  name: 'prod',
  kind: 'kubeadm',
  region: 'eu-west-1',
  controlPlaneTags: { role: 'control-plane' },
  workerTags: { role: 'worker' },
  backup: {
    enabled: true,
    schedule: 'cron(0 * * * ? *)',
    timeZone: 'UTC',
    retention: { keepLast: 3, hourly: 24, daily: 7, weekly: 4, monthly: 6 },
  },
};

function makeDirectory() {
  return ssmClusterDirectory(PREFIX, new SSMClient({}));
}

function throttled(): SSMServiceException {
  return new SSMServiceException({
    name: 'ThrottlingException',
    $fault: 'client',
    $metadata: { httpStatusCode: 400 },
    message: 'Rate exceeded',
  });
}

beforeEach(() => {
  ssm.reset();
});

describe('get', () => {
  it('reads <prefix>/<name> and parses the JSON value', async () => {
    // Arrange
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(prod) } });
    const directory = makeDirectory();

    // Act
    const config = await directory.get('prod');

    // Assert
    expect(config).toEqual(prod);
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 1);
    expect(ssm).toHaveReceivedCommandWith(GetParameterCommand, { Name: '/caretaker/clusters/prod' });
    expect(ssm.commandCalls(GetParameterCommand)[0]?.args[0].input).toEqual({
      Name: '/caretaker/clusters/prod',
    });
  });

  it('reads each cluster once for the life of the container', async () => {
    // Arrange
    ssm.on(GetParameterCommand).resolves({ Parameter: { Value: JSON.stringify(prod) } });
    const directory = makeDirectory();

    // Act
    const [first, second] = await Promise.all([directory.get('prod'), directory.get('prod')]);
    const third = await directory.get('prod');

    // Assert
    expect(first).toEqual(prod);
    expect(second).toEqual(prod);
    expect(third).toEqual(prod);
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 1);
  });

  it('reads different clusters separately', async () => {
    // Arrange
    ssm.on(GetParameterCommand, { Name: '/caretaker/clusters/prod' }).resolves({
      Parameter: { Value: JSON.stringify(prod) },
    });
    ssm.on(GetParameterCommand, { Name: '/caretaker/clusters/staging' }).resolves({
      Parameter: { Value: JSON.stringify({ ...prod, name: 'staging' }) },
    });
    const directory = makeDirectory();

    // Act
    const a = await directory.get('prod');
    const b = await directory.get('staging');

    // Assert
    expect(a.name).toBe('prod');
    expect(b.name).toBe('staging');
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 2);
  });

  it('rejects with ClusterNotFoundError naming the cluster when the parameter does not exist', async () => {
    // Arrange
    ssm.on(GetParameterCommand).rejects(new ParameterNotFound({ message: 'not found', $metadata: {} }));
    const directory = makeDirectory();

    // Act
    const getting = directory.get('nope');

    // Assert
    await expect(getting).rejects.toThrow(ClusterNotFoundError);
    await expect(getting).rejects.toThrow(
      'cluster "nope" is not configured (no parameter /caretaker/clusters/nope)',
    );
  });

  it('fails with TransientError when SSM throttles', async () => {
    // Arrange
    ssm.on(GetParameterCommand).rejects(throttled());
    const directory = makeDirectory();

    // Act
    const getting = directory.get('prod');

    // Assert
    await expect(getting).rejects.toThrow(TransientError);
  });

  it('reads the parameter again after a failed load instead of caching the failure', async () => {
    // Arrange
    ssm
      .on(GetParameterCommand)
      .rejectsOnce(throttled())
      .resolvesOnce({ Parameter: { Value: JSON.stringify(prod) } });
    const directory = makeDirectory();
    await expect(directory.get('prod')).rejects.toThrow(TransientError);

    // Act
    const config = await directory.get('prod');

    // Assert
    expect(config).toEqual(prod);
    expect(ssm).toHaveReceivedCommandTimes(GetParameterCommand, 2);
  });
});
