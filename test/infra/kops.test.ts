/**
 * kops with backup.source etcd-manager: read-only access to etcd-manager's backups in the state
 * store (the backups prefix only) for pick-snapshot and the scratch role, Caretaker's own records
 * of them in its bucket, no Caretaker backup schedule, and cdk-nag clean.
 */
import { AwsSolutionsChecks } from 'cdk-nag';
import { Match, type Template } from 'aws-cdk-lib/assertions';
import type { ConfigInput } from '../../functions/shared/domain/config';
import { buildStacks, roleStatements, templateFor, type Statement } from './build';

const KOPS: ConfigInput = {
  clusters: [
    {
      name: 'kops-prod',
      kind: 'kops',
      region: 'eu-west-1',
      kops: { stateStore: 's3://kops-state-store/clusters', clusterName: 'prod.k8s.example.com' },
      restoreVerify: { launchTemplate: 'lt-0123456789abcdef0' },
    },
  ],
};

const stateStoreArn = (path = '') => ({
  'Fn::Join': ['', ['arn:', { Ref: 'AWS::Partition' }, `:s3:::kops-state-store${path}`]],
});
const BACKUPS = '/clusters/prod.k8s.example.com/backups/etcd/*';
const actionsOf = (s: Statement) => (Array.isArray(s.Action) ? s.Action : [s.Action]);

describe('a kops cluster whose backups etcd-manager takes', () => {
  let template: Template;

  beforeAll(() => {
    template = templateFor(buildStacks(KOPS).stacks, 'eu-west-1');
  });

  it('lets pick-snapshot list and head etcd-manager backups under the backups prefix only', () => {
    const statements = roleStatements(template, /^RestoreVerifyPickSnapshot/);
    expect(statements).toEqual(
      expect.arrayContaining([
        {
          Sid: 'ListEtcdManagerBackupsKopsProd',
          Effect: 'Allow',
          Action: 's3:ListBucket',
          Resource: stateStoreArn(),
          Condition: {
            StringLike: {
              's3:prefix': [
                'clusters/prod.k8s.example.com/backups/etcd/main/*',
                'clusters/prod.k8s.example.com/backups/etcd/events/*',
              ],
            },
          },
        },
        {
          Sid: 'HeadEtcdManagerBackupsKopsProd',
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: stateStoreArn(BACKUPS),
        },
      ]),
    );
  });

  it("lets pick-snapshot list Caretaker's records of etcd-manager backups, under the cluster's record prefix only", () => {
    const statements = roleStatements(template, /^RestoreVerifyPickSnapshot/);
    const listing = statements.find((s) => s.Sid === 'ListEtcdManagerVerificationRecords');
    expect(listing).toMatchObject({
      Effect: 'Allow',
      Action: 's3:ListBucket',
      Condition: { StringLike: { 's3:prefix': ['kops-prod/etcd-manager/*'] } },
    });
    expect(JSON.stringify(listing?.Resource)).not.toContain('kops-state-store');
  });

  it('gives no Caretaker role any write, tag or delete on the state store', () => {
    const all = [
      ...Object.values(template.findResources('AWS::IAM::Policy')),
      ...Object.values(template.findResources('AWS::IAM::ManagedPolicy')),
    ].flatMap((p) => p.Properties.PolicyDocument.Statement as Statement[]);
    const onStateStore = all.filter((s) => JSON.stringify(s.Resource ?? '').includes('kops-state-store'));
    expect(onStateStore.length).toBeGreaterThanOrEqual(3);
    for (const s of onStateStore) {
      expect({ sid: s.Sid, actions: actionsOf(s) }).toEqual({
        sid: s.Sid,
        actions: expect.arrayContaining([expect.stringMatching(/^s3:(ListBucket|GetObject)$/)]),
      });
      expect(actionsOf(s).every((a) => a === 's3:ListBucket' || a === 's3:GetObject')).toBe(true);
    }
  });

  it("lets the scratch role download etcd-manager's backups, read only", () => {
    template.hasResourceProperties('AWS::IAM::ManagedPolicy', {
      ManagedPolicyName: 'Caretaker-eu-west-1-scratch-kops-prod',
      PolicyDocument: {
        Statement: Match.arrayWith([
          {
            Sid: 'DownloadEtcdManagerBackups',
            Effect: 'Allow',
            Action: 's3:GetObject',
            Resource: stateStoreArn(BACKUPS),
          },
        ]),
      },
    });
  });

  it("lets record-verification write its records of etcd-manager backups in Caretaker's bucket only", () => {
    const statements = roleStatements(template, /^RestoreVerifyRecordVerification/);
    const record = statements.find((s) => s.Sid === 'RecordEtcdManagerVerdicts');
    expect(record).toMatchObject({ Action: 's3:PutObject' });
    expect(JSON.stringify(record?.Resource)).toContain('/kops-prod/etcd-manager/*');
    expect(JSON.stringify(record?.Resource)).not.toContain('kops-state-store');
  });

  it('schedules restore verification but no Caretaker backup', () => {
    const schedules = Object.values(template.findResources('AWS::Scheduler::Schedule')).map((s) =>
      JSON.stringify(s.Properties),
    );
    expect(schedules.some((s) => s.includes('restore-verify'))).toBe(true);
    expect(schedules.some((s) => s.includes('etcd-backup'))).toBe(false);
  });

  it("alarms on the verified age but not on Caretaker's snapshot age, which etcd-manager's backups would never lower", () => {
    const alarms = Object.values(template.findResources('AWS::CloudWatch::Alarm')).map((a) =>
      JSON.stringify(a.Properties),
    );
    const ofKops = alarms.filter((a) => a.includes('kops-prod'));
    expect(ofKops.some((a) => a.includes('"VerifiedSnapshotAgeSeconds"'))).toBe(true);
    expect(ofKops.some((a) => a.includes('"SnapshotAgeSeconds"'))).toBe(false);
    expect(alarms.some((a) => a.includes('"Succeeded"') && a.includes('etcd-backup'))).toBe(false);
  });

  it('reports no unacknowledged cdk-nag finding', () => {
    const { app } = buildStacks(KOPS);
    app.synth();
    const report = new AwsSolutionsChecks().validateScope(app);
    const findings = report.violations.map(
      (v) => `${v.ruleName}: ${v.violatingResources.map((r) => r.constructPath).join(', ')}`,
    );
    expect(findings).toEqual([]);
  });
});
