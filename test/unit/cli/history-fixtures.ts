import type { GetExecutionHistoryCommandInput, HistoryEvent } from '@aws-sdk/client-sfn';

/** execution histories of etcd-backup as Step Functions returns them, for --follow */

const T0 = Date.parse('2024-05-01T10:00:01Z');
const at = (seconds: number) => new Date(T0 + seconds * 1000);

function event(id: number, seconds: number, type: string, extra: Partial<HistoryEvent> = {}): HistoryEvent {
  return {
    id,
    previousEventId: id - 1,
    timestamp: at(seconds),
    type: type as HistoryEvent['type'],
    ...extra,
  };
}

const entered = (id: number, s: number, name: string, type = 'TaskStateEntered') =>
  event(id, s, type, { stateEnteredEventDetails: { name, input: '{}' } });
const exited = (id: number, s: number, name: string, type = 'TaskStateExited') =>
  event(id, s, type, { stateExitedEventDetails: { name, output: '{}' } });

const started = event(1, 0, 'ExecutionStarted', {
  previousEventId: 0,
  executionStartedEventDetails: {
    input: '{"cluster":"prod-eu"}',
    roleArn: 'arn:aws:iam::123456789012:role/sfn',
  },
});

/** lock taken, instances found, then the run goes on (events 1-9) */
const opening: HistoryEvent[] = [
  started,
  entered(2, 0.1, "Take the cluster's operation lock"),
  event(3, 0.1, 'LambdaFunctionScheduled'),
  event(4, 0.2, 'LambdaFunctionStarted'),
  event(5, 0.9, 'LambdaFunctionSucceeded'),
  exited(6, 1, "Take the cluster's operation lock"),
  entered(7, 1, 'Did we get the lock?', 'ChoiceStateEntered'),
  exited(8, 1, 'Did we get the lock?', 'ChoiceStateExited'),
  entered(9, 1.2, 'Find the control-plane instances'),
];

export const BACKUP_OUTPUT = {
  cluster: 'prod-eu',
  lock: { acquired: true, owner: 'arn', expiresAt: '2024-05-01T12:00:01Z' },
  upload: {
    bucket: 'caretaker-eu-west-1-snapshots',
    key: 'prod-eu/etcd/2024/05/01/20240501T100031Z-r48221.db',
    manifestKey: 'prod-eu/etcd/2024/05/01/20240501T100031Z-r48221.json',
    size: 5_452_595,
    sha256: 'ab'.repeat(32),
    revision: 48221,
  },
  pruned: {
    kept: 6,
    deleted: ['prod-eu/etcd/2024/04/30/20240430T090000Z-r47000.db'],
    skippedLocked: [],
    newestVerified: null,
    note: '',
  },
  notification: { published: true, subject: 'Caretaker: etcd backup of prod-eu succeeded' },
};

/** the whole successful run (events 1-16) */
export const SUCCEEDED_HISTORY: HistoryEvent[] = [
  ...opening,
  exited(10, 2, 'Find the control-plane instances'),
  entered(11, 2, 'Take the snapshot on the picked member'),
  event(12, 2.1, 'TaskScheduled'),
  event(13, 2.2, 'TaskStarted'),
  event(14, 35, 'TaskSucceeded'),
  exited(15, 35, 'Take the snapshot on the picked member'),
  event(16, 72, 'ExecutionSucceeded', {
    executionSucceededEventDetails: { output: JSON.stringify(BACKUP_OUTPUT) },
  }),
];

export const SNAPSHOT_CAUSE = 'etcd-snapshot on i-0a1b2c3d4e5f60002 failed: Error: context deadline exceeded';

/** the snapshot command fails; the Catch releases the lock and the run fails (events 1-19) */
export const FAILED_HISTORY: HistoryEvent[] = [
  ...opening,
  exited(10, 2, 'Find the control-plane instances'),
  entered(11, 2, 'Take the snapshot on the picked member'),
  event(12, 2.1, 'TaskScheduled'),
  event(13, 2.2, 'TaskStarted'),
  event(14, 64, 'TaskFailed', {
    taskFailedEventDetails: {
      resource: 'invoke.waitForTaskToken',
      resourceType: 'lambda',
      error: 'CommandFailedError',
      cause: SNAPSHOT_CAUSE,
    },
  }),
  exited(15, 64, 'Take the snapshot on the picked member'),
  entered(16, 64, 'Release the lock after the failure'),
  exited(17, 65, 'Release the lock after the failure'),
  entered(18, 65, 'Fail with the original error', 'FailStateEntered'),
  event(19, 65, 'ExecutionFailed', {
    executionFailedEventDetails: { error: 'CommandFailedError', cause: SNAPSHOT_CAUSE },
  }),
];

/**
 * A GetExecutionHistory fake: poll n (counted by requests without a nextToken) sees the first
 * `visible[n]` events, served `pageSize` at a time with the offset as the token.
 */
export function historyPages(events: HistoryEvent[], visible: number[], pageSize = 4) {
  let poll = -1;
  return (input: GetExecutionHistoryCommandInput) => {
    if (!input.nextToken) poll++;
    const shown = events.slice(0, visible[Math.min(poll, visible.length - 1)]);
    const offset = Number(input.nextToken ?? 0);
    const end = offset + pageSize;
    return { events: shown.slice(offset, end), nextToken: end < shown.length ? String(end) : undefined };
  };
}
