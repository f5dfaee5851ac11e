import { parseConfig } from '../../../functions/shared/domain/config';
import { approvalTimeoutSeconds } from '../../../functions/shared/domain/approvals';

const cluster = { name: 'prod-eu', kind: 'kubeadm', region: 'eu-west-1' } as const;

describe('the ChatOps and approval blocks of caretaker.config.json', () => {
  it('fills in approval defaults (60 minutes, no list, no self-approval) and leaves Slack off', () => {
    const config = parseConfig({ clusters: [cluster] });

    expect(config.clusters[0]!.approval).toEqual({ timeoutMinutes: 60, allowSelfApproval: false });
    expect(approvalTimeoutSeconds(config.clusters[0]!.approval)).toBe(3600);
    expect(config.clusters[0]!.slack).toBeUndefined();
    expect(config.slack).toBeUndefined();
  });

  it('resolves the workspace, channels, per-cluster channel, permissions and approval rules', () => {
    const config = parseConfig({
      slack: { teamId: 'T0123ABCD' },
      clusters: [
        {
          ...cluster,
          slack: { channel: 'C0PRODEU', allow: { backup: ['U0ALICE'], '*': ['S0SRE'] } },
          approval: { timeoutMinutes: 15, approvers: ['S0LEADS', 'cli:alice'], allowSelfApproval: true },
        },
      ],
    });

    expect(config.slack).toEqual({ teamId: 'T0123ABCD', channels: [] });
    expect(config.clusters[0]!.slack).toEqual({
      channel: 'C0PRODEU',
      allow: { backup: ['U0ALICE'], '*': ['S0SRE'] },
    });
    expect(config.clusters[0]!.approval).toEqual({
      timeoutMinutes: 15,
      approvers: ['S0LEADS', 'cli:alice'],
      allowSelfApproval: true,
    });
  });

  it('rejects bad ChatOps fields, naming each one', () => {
    const parse = () =>
      parseConfig({
        slack: { teamId: 'acme', channels: ['#ops'] },
        clusters: [
          {
            ...cluster,
            slack: { channel: 'ops', allow: { reboot: ['U0ALICE'], backup: ['alice'] } },
            approval: { timeoutMinutes: 0, approvers: ['bad id!'] },
          },
        ],
      });

    expect(parse).toThrow('slack.teamId: must be a Slack workspace (team) id (T…)');
    expect(parse).toThrow('slack.channels[0]: must be a Slack channel id');
    expect(parse).toThrow('clusters[0] (prod-eu).slack.channel: must be a Slack channel id');
    expect(parse).toThrow('clusters[0] (prod-eu).slack.allow.reboot: is not a verb');
    expect(parse).toThrow('clusters[0] (prod-eu).slack.allow.backup[0]: must be a Slack user id');
    expect(parse).toThrow('clusters[0] (prod-eu).approval.timeoutMinutes');
    expect(parse).toThrow(
      'clusters[0] (prod-eu).approval.approvers[0]: must be a Slack user or group id, or cli:<name>',
    );
  });
});
