import { publishOutcome, type OutcomeInput } from '../../../functions/publish-outcome/service';
import { slackWebApi } from '../../../functions/shared/adapters/slack/web-api';
import { approvalMessage } from '../../../functions/shared/domain/slack-messages';
import { channelsFrom } from '../../../functions/shared/services/slack-chat';
import { configDirectory, memoryMetrics, memoryNotifier } from '../../../sandbox/local-adapters';
import { startSlackStandIn, type SlackStandIn } from '../../../sandbox/slack-api';
import { BOT_TOKEN } from '../../support/slack';
import { CONFIG } from './world';

const EXECUTION =
  'arn:aws:states:eu-west-1:123456789012:execution:caretaker-etcd-backup:etcd-backup-prod-eu-20251130T100000Z';

let slack: SlackStandIn;
beforeAll(async () => {
  slack = await startSlackStandIn();
});
afterAll(async () => slack.stop());
beforeEach(() => {
  slack.calls.length = 0;
});

const succeeded: OutcomeInput = {
  cluster: 'prod-eu',
  workflow: 'etcd-backup',
  outcome: 'Succeeded',
  executionId: EXECUTION,
  startedAt: '2025-11-30T10:00:00.000Z',
  snapshot: {
    key: 'prod-eu/etcd/2025/11/30/20251130T100005Z-r4242.db',
    size: 5_242_880,
    sha256: 'a'.repeat(64),
    revision: 4242,
  },
};

function deps() {
  const sleeps: number[] = [];
  return {
    notifier: memoryNotifier(),
    chatbot: memoryNotifier(),
    metrics: memoryMetrics(),
    clock: { now: () => new Date('2025-11-30T10:01:30.000Z') },
    chat: {
      slack: slackWebApi({ token: async () => BOT_TOKEN, apiUrl: slack.url, retries: 0 }),
      channelOf: channelsFrom(configDirectory(CONFIG.clusters)),
    },
    runbookBaseUrl: 'https://github.com/example/caretaker/blob/main/docs/runbooks',
    sleep: async (ms: number) => void sleeps.push(ms),
    sleeps,
    audit: jest.fn(),
  };
}

describe('outcomes in chat', () => {
  it("posts Block Kit to the cluster's channel with chat.postMessage: result, duration, snapshot, console and runbook links", async () => {
    const d = deps();

    const out = await publishOutcome(succeeded, d);

    expect(out).toMatchObject({ published: true, slack: 'posted', chatbot: 'published' });
    const [call] = slack.callsTo('chat.postMessage');
    expect(call!.token).toBe(BOT_TOKEN);
    expect(call!.params).toMatchObject({
      channel: 'C0PRODEU',
      text: 'etcd-backup succeeded on prod-eu after 90 s',
    });
    const blocks = JSON.stringify(call!.params.blocks);
    expect(blocks).toContain(':white_check_mark: *etcd-backup* succeeded on *prod-eu* after 90 s');
    expect(blocks).toContain(
      'Snapshot: prod-eu/etcd/2025/11/30/20251130T100005Z-r4242.db (5242880 bytes, revision 4242',
    );
    expect(blocks).toContain(
      `https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${encodeURIComponent(EXECUTION)}|execution in the console`,
    );
    expect(blocks).toContain('docs/runbooks/etcd-backup.md|runbook');
  });

  it("publishes the same outcome in AWS Chatbot's custom-notification format", async () => {
    const d = deps();
    await publishOutcome(
      { ...succeeded, outcome: 'Failed', error: { Error: 'EtcdUnhealthyError', Cause: 'no healthy member' } },
      d,
    );

    const [sent] = d.chatbot.messages;
    expect(JSON.parse(sent!.message)).toEqual({
      version: '1.0',
      source: 'custom',
      id: EXECUTION,
      content: {
        textType: 'client-markdown',
        title: ':x: etcd-backup failed on prod-eu',
        description: expect.stringContaining('Error: EtcdUnhealthyError\nno healthy member'),
        nextSteps: [
          `[Execution in the console](https://eu-west-1.console.aws.amazon.com/states/home?region=eu-west-1#/v2/executions/details/${encodeURIComponent(EXECUTION)})`,
          '[Runbook](https://github.com/example/caretaker/blob/main/docs/runbooks/etcd-backup.md)',
        ],
        keywords: ['prod-eu', 'etcd-backup', 'Failed'],
      },
      metadata: {
        threadId: 'prod-eu-etcd-backup',
        summary: 'etcd-backup failed on prod-eu',
        eventType: 'caretaker.etcd-backup.Failed',
        relatedResources: [EXECUTION],
        additionalContext: { cluster: 'prod-eu', workflow: 'etcd-backup', outcome: 'Failed' },
      },
    });
  });

  it('retries a failed Slack post and succeeds', async () => {
    const d = deps();
    slack.fail('chat.postMessage', 1, { status: 500 });

    const out = await publishOutcome(succeeded, d);

    expect(out.slack).toBe('posted');
    expect(slack.callsTo('chat.postMessage')).toHaveLength(2);
    expect(d.sleeps).toEqual([250]);
  });

  it('never fails the workflow when Slack is down: 3 attempts, then SlackNotificationFailed counted', async () => {
    const d = deps();
    slack.fail('chat.postMessage', 3, { error: 'service_unavailable' });

    const out = await publishOutcome(succeeded, d);

    expect(out).toMatchObject({ published: true, slack: 'failed' });
    expect(slack.callsTo('chat.postMessage')).toHaveLength(3);
    expect(d.metrics.records).toContainEqual([
      { notification: 'slack' },
      { SlackNotificationFailed: { value: 1, unit: 'Count' } },
    ]);
    expect(d.notifier.messages).toHaveLength(1);
  });

  it('posts nothing for a cluster without a channel', async () => {
    const out = await publishOutcome({ ...succeeded, cluster: 'quiet' }, deps());
    expect(out.slack).toBe('no-channel');
    expect(slack.calls).toEqual([]);
  });

  it('escapes what Slack would read as markup in names and causes', () => {
    const { blocks } = approvalMessage({
      approvalId: 'apr-x',
      executionId: EXECUTION,
      cluster: 'prod-eu',
      workflow: 'upgrade-control-plane',
      requestedBy: 'cli',
      summary: 'upgrade <!channel> & more',
      requestedAt: '2025-11-30T10:00:00.000Z',
      expiresAt: '2025-11-30T11:00:00.000Z',
      status: 'pending',
    });
    expect(JSON.stringify(blocks)).toContain('upgrade &lt;!channel&gt; &amp; more');
  });
});
