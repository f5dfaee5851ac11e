import { runSlackSandbox } from '../../sandbox/slack';

describe('npm run sandbox -- slack', () => {
  it('drives the real receiver with signed requests: a backup from Slack, its outcome posted, an approval pressed', async () => {
    const out: string[] = [];
    const err: string[] = [];

    const code = await runSlackSandbox({ out: (l) => out.push(l), err: (l) => err.push(l) });
    const text = out.join('\n');

    expect(code).toBe(0);
    // the backup started once, the retry found it, forged and replayed requests were refused
    expect(text).toMatch(
      /alice: \/caretaker backup sandbox\n {2}← 200 in \d+ ms: Started etcd-backup on sandbox: `etcd-backup-sandbox-/,
    );
    expect(text).toMatch(/X-Slack-Retry-Num: 1\)\n {2}← 200 in \d+ ms: Already started/);
    expect(text).toMatch(/another secret\n {2}← 401 in \d+ ms: unauthorized/);
    expect(text).toMatch(/6 minutes later\n {2}← 401 in \d+ ms: unauthorized/);
    expect(err.join('\n')).toContain('"reason":"signature does not match"');
    expect(text).toMatch(
      /bob: \/caretaker backup sandbox \(not allowed\)\n {2}← 200 in \d+ ms: you may not backup on sandbox/,
    );
    // upgrade is a registry workflow now, and nobody in the sandbox's config may run it from Slack
    expect(text).toMatch(
      /upgrade sandbox 1\.35 --dry-run\n {2}← 200 in \d+ ms: you may not upgrade on sandbox/,
    );
    // the real workflow ran and publish-outcome posted its Block Kit to the stand-in
    expect(text).toMatch(/etcd-backup-sandbox-\S+: SUCCEEDED/);
    expect(text).toMatch(
      /slack chat\.postMessage C0SANDBOX:\n {6}:white_check_mark: \*etcd-backup\* succeeded on \*sandbox\*/,
    );
    // the gate: self-approval refused, bob approved, the message updated, a late press refused
    expect(text).toContain('slack:U0ALICE asked for this run and may not approve it');
    expect(text).toMatch(/chat\.update C0SANDBOX \(ts [\d.]+\):\n {6}\*Approved\* by <@U0BOB>/);
    expect(text).toMatch(/was already approved by slack:U0BOB/);
    expect(text).toContain('gate: SUCCEEDED, path: Ask for approval → Go ahead with the plan');
  }, 180_000);
});
