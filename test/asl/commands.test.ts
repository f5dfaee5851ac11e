/**
 * Every Task that waits on a node command agrees with the command catalog: its TimeoutSeconds is
 * the one the catalog derives from the document's timeoutSeconds, and it names itself as the
 * intent's `state`, so a retried send-command finds the earlier send.
 */
import { findCommand, taskTimeoutSeconds } from '../../functions/shared/domain/commands';
import { allStates, listWorkflows, readWorkflow, type JsonObject } from '../../sandbox/asl-runner';

const commandTasks = listWorkflows().flatMap((workflow) =>
  allStates(readWorkflow(workflow))
    .filter(({ state }) => String(state.Resource).endsWith('.waitForTaskToken'))
    .map(({ name, state }) => ({
      workflow,
      name,
      timeoutSeconds: state.TimeoutSeconds,
      payload: (state.Parameters?.['Payload'] ?? {}) as JsonObject,
    }))
    .filter((t) => typeof t.payload['command'] === 'string'),
);

it('finds the command Tasks to check', () => {
  expect(commandTasks.map((t) => `${t.workflow}: ${String(t.payload['command'])}`)).toEqual(
    expect.arrayContaining([
      'etcd-backup: etcd-status',
      'etcd-backup: etcd-snapshot',
      'restore-verify: etcd-restore-verify',
    ]),
  );
});

describe.each(commandTasks.map((t) => [`${t.workflow} › ${t.name}`, t] as const))('%s', (_label, task) => {
  const spec = findCommand(String(task.payload['command']));

  it('sends a command from the catalog', () => {
    expect(spec?.name).toBe(task.payload['command']);
  });

  it("waits as long as the catalog derives from the document's timeoutSeconds", () => {
    expect(task.timeoutSeconds).toBe(taskTimeoutSeconds(spec!));
  });

  it('names its own state as the intent, so a retry never sends twice', () => {
    // a check repeated in a wait loop names each round: `States.Format('<state>, check {}', …)`
    const format = task.payload['state.$'];
    if (typeof format === 'string')
      expect(format.startsWith(`States.Format('${task.name}, check {}'`)).toBe(true);
    else expect(task.payload['state']).toBe(task.name);
  });
});
