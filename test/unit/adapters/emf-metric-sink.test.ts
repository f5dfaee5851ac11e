import { emfMetricSink } from '../../../functions/shared/adapters/aws/emf-metric-sink';
import { fixedClock } from '../../support/fakes';

describe('emfMetricSink', () => {
  it('makes metrics only of catalogued names, with the catalog dimensions; every figure stays a log field', async () => {
    const lines: string[] = [];
    const sink = emfMetricSink((l) => lines.push(l), fixedClock('2026-11-30T03:00:00.000Z'));

    await sink.record(
      { cluster: 'prod', workflow: 'etcd-backup' },
      { SnapshotAgeSeconds: { value: 60, unit: 'Seconds' }, SnapshotBytes: { value: 1024, unit: 'Bytes' } },
    );

    expect(JSON.parse(lines[0]!)).toEqual({
      _aws: {
        Timestamp: Date.parse('2026-11-30T03:00:00.000Z'),
        CloudWatchMetrics: [
          {
            Namespace: 'Caretaker',
            Dimensions: [['cluster']],
            Metrics: [{ Name: 'SnapshotAgeSeconds', Unit: 'Seconds' }],
          },
        ],
      },
      cluster: 'prod',
      workflow: 'etcd-backup',
      SnapshotAgeSeconds: 60,
      SnapshotBytes: 1024,
    });
  });

  it('writes a line with no metric when nothing is catalogued (figures for Logs Insights only)', async () => {
    const lines: string[] = [];
    await emfMetricSink((l) => lines.push(l)).record(
      { cluster: 'prod' },
      { Succeeded: { value: 1, unit: 'Count' } },
    );
    expect(JSON.parse(lines[0]!)._aws.CloudWatchMetrics).toEqual([]);
  });

  it('fails for a catalogued metric recorded without its dimension (a bug, not data)', async () => {
    await expect(
      emfMetricSink(() => undefined).record({}, { NodesNotReady: { value: 1, unit: 'Count' } }),
    ).rejects.toThrow('metric NodesNotReady needs dimension(s) cluster');
  });
});
