import { Metrics } from '@aws-lambda-powertools/metrics';
import { powertoolsMetricSink } from '../../../functions/shared/adapters/aws/powertools-metric-sink';

// no AWS client here: metrics go to stdout as EMF, so the seam is the Metrics instance
function makeMetrics() {
  const metrics = new Metrics({ namespace: 'Caretaker' });
  return {
    metrics,
    addDimensions: jest.spyOn(metrics, 'addDimensions'),
    addMetric: jest.spyOn(metrics, 'addMetric'),
    publish: jest.spyOn(metrics, 'publishStoredMetrics').mockImplementation(() => metrics),
  };
}

describe('record', () => {
  it('adds the dimensions, one metric per value with its unit, then publishes once', async () => {
    // Arrange
    const { metrics, addDimensions, addMetric, publish } = makeMetrics();
    const sink = powertoolsMetricSink(metrics);

    // Act
    await sink.record(
      { cluster: 'prod', workflow: 'etcd-backup' },
      { SnapshotBytes: { value: 1024, unit: 'Bytes' }, SnapshotSeconds: { value: 12, unit: 'Seconds' } },
    );

    // Assert
    expect(addDimensions).toHaveBeenCalledWith({ cluster: 'prod', workflow: 'etcd-backup' });
    expect(addMetric.mock.calls).toEqual([
      ['SnapshotBytes', 'Bytes', 1024],
      ['SnapshotSeconds', 'Seconds', 12],
    ]);
    expect(publish).toHaveBeenCalledTimes(1);
    expect(publish.mock.invocationCallOrder[0]).toBeGreaterThan(addMetric.mock.invocationCallOrder[1] ?? 0);
  });

  it('publishes with no metric when given no values', async () => {
    // Arrange
    const { metrics, addMetric, publish } = makeMetrics();
    const sink = powertoolsMetricSink(metrics);

    // Act
    await sink.record({ cluster: 'prod' }, {});

    // Assert
    expect(addMetric).not.toHaveBeenCalled();
    expect(publish).toHaveBeenCalledTimes(1);
  });
});
