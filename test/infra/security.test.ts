import type { Template } from 'aws-cdk-lib/assertions';
import { COMMAND_NAMES, commandSpec } from '../../functions/shared/domain/commands';
import { buildStacks, CONFIG, pascal, roleStatements, templateFor, type Statement } from './build';

/** the findings of issue 7, each guarded on the synthesized template */

type Json = Record<string, unknown>;

const list = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

function resources(template: Template, type: string): Record<string, Json & { Properties: Json }> {
  return template.findResources(type) as Record<string, Json & { Properties: Json }>;
}

function policyStatements(policy: Json & { Properties: Json }, field = 'PolicyDocument'): Statement[] {
  return (policy.Properties[field] as { Statement: Statement[] }).Statement;
}

describe('security review (issue 7)', () => {
  let eu: Template;
  let us: Template;

  beforeAll(() => {
    const { stacks } = buildStacks();
    eu = templateFor(stacks, 'eu-west-1');
    us = templateFor(stacks, 'us-east-1');
  });

  describe('1. alarms reach the topic', () => {
    it.each([
      ['eu-west-1', () => eu],
      ['us-east-1', () => us],
    ])(
      'in %s, every alarm action topic lets CloudWatch publish that alarm, by topic and key policy',
      (_r, t) => {
        const template = t();
        const alarms = resources(template, 'AWS::CloudWatch::Alarm');
        const topics = resources(template, 'AWS::SNS::Topic');
        const topicPolicies = Object.values(resources(template, 'AWS::SNS::TopicPolicy'));
        const keys = resources(template, 'AWS::KMS::Key');
        expect(Object.keys(alarms).length).toBeGreaterThan(0);

        for (const [alarmId, alarm] of Object.entries(alarms)) {
          const actions = [...list(alarm.Properties.AlarmActions), ...list(alarm.Properties.OKActions)];
          expect(actions.length).toBeGreaterThan(0);
          for (const action of actions as { Ref: string }[]) {
            const policy = topicPolicies.find((p) =>
              (p.Properties.Topics as unknown[]).some(
                (ref) => JSON.stringify(ref) === JSON.stringify(action),
              ),
            );
            expect(policy).toBeDefined();
            const allow = policyStatements(policy!).find(
              (s) =>
                s.Effect === 'Allow' &&
                JSON.stringify(s.Principal) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }) &&
                list(s.Action).includes('sns:Publish'),
            );
            expect(allow?.Resource).toEqual(action);
            expect(allow?.Condition?.StringEquals?.['aws:SourceAccount']).toEqual({ Ref: 'AWS::AccountId' });
            expect(list(allow?.Condition?.ArnEquals?.['aws:SourceArn'])).toContainEqual({
              'Fn::GetAtt': [alarmId, 'Arn'],
            });

            // the topic is encrypted: CloudWatch must be able to use its key too
            const topic = topics[action.Ref];
            const keyRef = topic?.Properties.KmsMasterKeyId as { 'Fn::GetAtt': [string, string] };
            const key = keys[keyRef['Fn::GetAtt'][0]];
            const keyAllows = policyStatements(key!, 'KeyPolicy').find(
              (s) =>
                s.Effect === 'Allow' &&
                JSON.stringify(s.Principal) === JSON.stringify({ Service: 'cloudwatch.amazonaws.com' }),
            );
            expect(list(keyAllows?.Action)).toEqual(
              expect.arrayContaining(['kms:Decrypt', 'kms:GenerateDataKey']),
            );
          }
        }
      },
    );
  });

  describe('4. failed asynchronous invocations are kept and alarmed', () => {
    it.each([
      ['CommandRunnerCompleteCommand', () => eu],
      ['CommandRunnerReconcileCommands', () => eu],
      ['WorkflowStarterStartWorkflow', () => eu],
      ['RestoreVerifyReapScratch', () => eu],
      ['CommandRunnerCompleteCommand', () => us],
      ['WorkflowStarterStartWorkflow', () => us],
    ])('%s sends what fails after two retries to its own encrypted, TLS-only queue', (fn, t) => {
      const template = t();
      const configs = Object.values(resources(template, 'AWS::Lambda::EventInvokeConfig')).filter((c) =>
        (c.Properties.FunctionName as { Ref: string }).Ref.startsWith(`${fn}Function`),
      );
      expect(configs).toHaveLength(1);
      const config = configs[0]!.Properties;
      expect(config.MaximumRetryAttempts).toBe(2);
      const destination = (config.DestinationConfig as { OnFailure: { Destination: unknown } }).OnFailure
        .Destination as { 'Fn::GetAtt': [string, string] };
      const queueId = destination['Fn::GetAtt'][0];
      expect(queueId).toMatch(new RegExp(`^${fn}FailedEvents`));
      expect(resources(template, 'AWS::SQS::Queue')[queueId]?.Properties).toMatchObject({
        SqsManagedSseEnabled: true,
      });
      const tlsDeny = Object.values(resources(template, 'AWS::SQS::QueuePolicy'))
        .filter((p) => JSON.stringify(p.Properties.Queues).includes(queueId))
        .flatMap((p) => policyStatements(p))
        .find((s) => s.Effect === 'Deny' && s.Condition?.Bool?.['aws:SecureTransport'] === 'false');
      expect(tlsDeny).toBeDefined();
    });

    it.each([
      ['eu-west-1', () => eu],
      ['us-east-1', () => us],
    ])('in %s, every dead-letter queue alarms to the topic as soon as it holds a message', (_r, t) => {
      const template = t();
      const queues = Object.keys(resources(template, 'AWS::SQS::Queue'));
      const alarms = Object.values(resources(template, 'AWS::CloudWatch::Alarm'));
      expect(queues.length).toBeGreaterThanOrEqual(4);
      for (const queueId of queues) {
        const alarm = alarms.find(
          (a) =>
            a.Properties.MetricName === 'ApproximateNumberOfMessagesVisible' &&
            JSON.stringify(a.Properties.Dimensions) ===
              JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueId, 'QueueName'] } }]),
        );
        expect(alarm?.Properties).toMatchObject({
          Namespace: 'AWS/SQS',
          ComparisonOperator: 'GreaterThanThreshold',
          Threshold: 0,
          EvaluationPeriods: 1,
          AlarmActions: [{ Ref: expect.stringMatching(/^NotificationsOutcomes/) }],
        });
      }
    });
  });

  describe('11. state machine logs hold no execution data and every log group is encrypted', () => {
    it.each([
      ['eu-west-1', () => eu],
      ['us-east-1', () => us],
    ])('in %s, every state machine logs errors only, without inputs and outputs', (_r, t) => {
      const machines = Object.values(resources(t(), 'AWS::StepFunctions::StateMachine'));
      expect(machines.length).toBeGreaterThan(0);
      for (const machine of machines) {
        expect(machine.Properties.LoggingConfiguration).toMatchObject({
          Level: 'ERROR',
          IncludeExecutionData: false,
        });
      }
    });

    it.each([
      ['eu-west-1', () => eu],
      ['us-east-1', () => us],
    ])(
      'in %s, every log group is encrypted with the logs key, which CloudWatch Logs may use',
      (region, t) => {
        const template = t();
        const groups = Object.values(resources(template, 'AWS::Logs::LogGroup'));
        expect(groups.length).toBeGreaterThan(0);
        for (const group of groups) {
          expect(group.Properties.KmsKeyId).toEqual({
            'Fn::GetAtt': [expect.stringMatching(/^LogsKey/), 'Arn'],
          });
        }
        const [logsKeyResource] = Object.entries(resources(template, 'AWS::KMS::Key')).filter(([id]) =>
          id.startsWith('LogsKey'),
        );
        expect(policyStatements(logsKeyResource![1], 'KeyPolicy')).toContainEqual(
          expect.objectContaining({
            Effect: 'Allow',
            Principal: { Service: `logs.${region}.amazonaws.com` },
            Condition: {
              ArnLike: {
                'kms:EncryptionContext:aws:logs:arn': {
                  'Fn::Join': [
                    '',
                    [
                      'arn:',
                      { Ref: 'AWS::Partition' },
                      `:logs:${region}:`,
                      { Ref: 'AWS::AccountId' },
                      ':log-group:*',
                    ],
                  ],
                },
              },
            },
          }),
        );
      },
    );
  });

  describe('8. snapshot functions reach their clusters\u2019 etcd/ prefix only; only readers decrypt', () => {
    const bucketObjects = (suffix: string) => ({
      'Fn::Join': [
        '',
        [{ 'Fn::GetAtt': [expect.stringMatching(/^SnapshotBucketSnapshots/), 'Arn'] }, suffix],
      ],
    });

    it.each(['EtcdBackupVerifyUpload', 'EtcdBackupPruneSnapshots'])(
      '%s touches objects under <cluster>/etcd/ of the etcd clusters only',
      (fn) => {
        const statements = roleStatements(eu, new RegExp(`^${fn}Role`)).filter((s) =>
          list(s.Action).some((a) => a.startsWith('s3:')),
        );
        expect(statements.length).toBeGreaterThan(0);
        for (const s of statements) {
          if (list(s.Action).includes('s3:ListBucket')) continue;
          expect(list(s.Resource)).toEqual([bucketObjects('/prod-eu/etcd/*'), bucketObjects('/edge/etcd/*')]);
        }
      },
    );

    it('prune-snapshots lists the etcd/ prefixes only', () => {
      expect(roleStatements(eu, /^EtcdBackupPruneSnapshotsRole/)).toContainEqual(
        expect.objectContaining({
          Action: 's3:ListBucket',
          Condition: { StringLike: { 's3:prefix': ['prod-eu/etcd/*', 'edge/etcd/*'] } },
        }),
      );
    });

    it.each([
      ['eu-west-1', () => eu],
      ['us-east-1', () => us],
    ])('in %s, only verify-upload may decrypt with the snapshot key (it reads manifests)', (_r, t) => {
      const decrypting = Object.values(resources(t(), 'AWS::IAM::Policy'))
        .filter((p) =>
          policyStatements(p).some(
            (s) =>
              list(s.Action).includes('kms:Decrypt') &&
              JSON.stringify(s.Resource).includes('SnapshotBucketKey'),
          ),
        )
        .flatMap((p) => (p.Properties.Roles as { Ref: string }[]).map((r) => r.Ref));
      expect(decrypting).toEqual(
        _r === 'eu-west-1' ? [expect.stringMatching(/^EtcdBackupVerifyUploadRole/)] : [],
      );
    });
  });

  describe('3 and 5. snapshots: who may write, read, decrypt and judge', () => {
    const NODE_ROLE = 'arn:aws:iam::123456789012:role/k8s-control-plane';
    const BREAK_GLASS = 'arn:aws:iam::123456789012:role/ops/etcd-break-glass';
    let secured: Template;

    beforeAll(() => {
      const { stacks } = buildStacks({
        ...CONFIG,
        bucket: { nodeRoleArns: [NODE_ROLE], breakGlassRoleArns: [BREAK_GLASS] },
      });
      secured = templateFor(stacks, 'eu-west-1');
    });

    const bucketPolicy = (t: Template) =>
      Object.values(resources(t, 'AWS::S3::BucketPolicy'))
        .filter((p) => JSON.stringify(p.Properties.Bucket).includes('SnapshotBucketSnapshots'))
        .flatMap((p) => policyStatements(p));
    const keyPolicy = (t: Template) => {
      const [key] = Object.entries(resources(t, 'AWS::KMS::Key')).filter(([id]) =>
        id.startsWith('SnapshotBucketKey'),
      );
      return policyStatements(key![1], 'KeyPolicy');
    };
    const managedPolicy = (t: Template, name: string) =>
      Object.values(resources(t, 'AWS::IAM::ManagedPolicy')).find(
        (p) => p.Properties.ManagedPolicyName === name,
      );
    const fnRoleArn = (role: string) => ({
      'Fn::GetAtt': [expect.stringMatching(new RegExp(`^${role}`)), 'Arn'],
    });
    const scratchRole = {
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':iam::',
          { Ref: 'AWS::AccountId' },
          ':role/caretaker-scratch-prod-eu',
        ],
      ],
    };
    const objectsUnder = (suffix: string) => ({
      'Fn::Join': [
        '',
        [{ 'Fn::GetAtt': [expect.stringMatching(/^SnapshotBucketSnapshots/), 'Arn'] }, suffix],
      ],
    });

    it('lets control-plane nodes only create objects under <cluster>/etcd/: no read, delete or tagging', () => {
      const statements = policyStatements(managedPolicy(secured, 'Caretaker-eu-west-1-node-prod-eu')!);
      const s3Actions = statements.flatMap((s) => list(s.Action)).filter((a) => a.startsWith('s3:'));
      expect(s3Actions.sort()).toEqual([
        's3:AbortMultipartUpload',
        's3:ListMultipartUploadParts',
        's3:PutObject',
      ]);
      for (const s of statements.filter((st) => list(st.Action).some((a) => a.startsWith('s3:')))) {
        expect(s.Resource).toEqual(objectsUnder('/prod-eu/etcd/*'));
      }
    });

    it('lets scratch instances only read under <cluster>/etcd/, decrypting through S3', () => {
      const statements = policyStatements(managedPolicy(secured, 'Caretaker-eu-west-1-scratch-prod-eu')!);
      expect(statements).toEqual([
        expect.objectContaining({
          Effect: 'Allow',
          Action: 's3:GetObject',
          Resource: objectsUnder('/prod-eu/etcd/*'),
        }),
        expect.objectContaining({
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
        }),
      ]);
      // a cluster without restore verification has no scratch policy
      expect(managedPolicy(secured, 'Caretaker-eu-west-1-scratch-edge')).toBeUndefined();
    });

    it('denies uploads with SSE-C, with another encryption or with another KMS key', () => {
      const denies = bucketPolicy(secured).filter(
        (s) => s.Effect === 'Deny' && list(s.Action).includes('s3:PutObject'),
      );
      const conditions = denies.map((s) => s.Condition);
      expect(conditions).toContainEqual({
        Null: { 's3:x-amz-server-side-encryption-customer-algorithm': 'false' },
      });
      expect(conditions).toContainEqual({
        StringNotEqualsIfExists: { 's3:x-amz-server-side-encryption': 'aws:kms' },
      });
      expect(conditions).toContainEqual({
        StringNotEqualsIfExists: {
          's3:x-amz-server-side-encryption-aws-kms-key-id': {
            'Fn::GetAtt': [expect.stringMatching(/^SnapshotBucketKey/), 'Arn'],
          },
        },
      });
    });

    it('lets only record-verification write verification reports and tags, whatever a node role may do', () => {
      const verdictWriter = {
        ArnNotLike: { 'aws:PrincipalArn': [fnRoleArn('RestoreVerifyRecordVerificationRole')] },
      };
      expect(bucketPolicy(secured)).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Principal: { AWS: '*' },
          Action: 's3:PutObject',
          Resource: objectsUnder('/*.verification.json'),
          Condition: verdictWriter,
        }),
      );
      expect(bucketPolicy(secured)).toContainEqual(
        expect.objectContaining({
          Effect: 'Deny',
          Action: expect.arrayContaining(['s3:PutObjectTagging', 's3:DeleteObjectTagging']),
          Resource: objectsUnder('/*'),
          Condition: verdictWriter,
        }),
      );
    });

    it('denies reading objects (and old versions) to everyone but the readers and break-glass roles', () => {
      const denyRead = bucketPolicy(secured).find(
        (s) => s.Effect === 'Deny' && list(s.Action).includes('s3:GetObject'),
      );
      expect(denyRead).toMatchObject({
        Principal: { AWS: '*' },
        Action: ['s3:GetObject', 's3:GetObjectVersion'],
        Resource: objectsUnder('/*'),
      });
      expect(denyRead?.Condition?.ArnNotLike?.['aws:PrincipalArn']).toEqual([
        // the health probe reads the verification reports (snapshot ages)
        fnRoleArn('HealthHealthProbeRole'),
        fnRoleArn('EtcdBackupVerifyUploadRole'),
        fnRoleArn('EtcdBackupPruneSnapshotsRole'),
        fnRoleArn('RestoreVerifyPickSnapshotRole'),
        scratchRole,
        BREAK_GLASS,
      ]);
    });

    it('lets the account administer the snapshot key but not use it on data', () => {
      const admin = keyPolicy(secured).filter((s) => JSON.stringify(s.Principal).includes(':root'));
      for (const s of admin.filter((st) => st.Condition === undefined)) {
        expect(list(s.Action)).not.toEqual(expect.arrayContaining(['kms:*']));
        for (const action of list(s.Action)) {
          expect(action).not.toMatch(
            /^kms:(\*|Decrypt|Encrypt|GenerateDataKey|ReEncrypt|CreateGrant|Create\*)/,
          );
        }
      }
    });

    it('lets only the named principals decrypt or encrypt with the snapshot key, and only through S3', () => {
      const dataStatements = keyPolicy(secured).filter((s) =>
        list(s.Action).some((a) => /^kms:(Decrypt|GenerateDataKey|Encrypt|ReEncrypt)/.test(a)),
      );
      const viaS3 = {
        'kms:ViaService': 's3.eu-west-1.amazonaws.com',
        'kms:CallerAccount': { Ref: 'AWS::AccountId' },
      };
      expect(dataStatements).toEqual([
        expect.objectContaining({
          Action: 'kms:Decrypt',
          Condition: {
            StringEquals: viaS3,
            ArnLike: {
              'aws:PrincipalArn': [
                fnRoleArn('HealthHealthProbeRole'),
                fnRoleArn('EtcdBackupVerifyUploadRole'),
                scratchRole,
                NODE_ROLE,
                BREAK_GLASS,
              ],
            },
          },
        }),
        expect.objectContaining({
          Action: 'kms:GenerateDataKey',
          Condition: {
            StringEquals: viaS3,
            ArnLike: { 'aws:PrincipalArn': [fnRoleArn('RestoreVerifyRecordVerificationRole'), NODE_ROLE] },
          },
        }),
      ]);
    });
  });

  describe('2. launch-scratch launches only the configured template, as configured', () => {
    const ec2 = (resource: string, account = true) => ({
      'Fn::Join': [
        '',
        account
          ? ['arn:', { Ref: 'AWS::Partition' }, ':ec2:eu-west-1:', { Ref: 'AWS::AccountId' }, `:${resource}`]
          : ['arn:', { Ref: 'AWS::Partition' }, `:ec2:eu-west-1::${resource}`],
      ],
    });
    const template = ec2('launch-template/lt-0123456789abcdef0');
    const launchStatements = (t: Template) => roleStatements(t, /^RestoreVerifyLaunchScratchRole/);
    const runInstances = (t: Template) =>
      launchStatements(t).filter((s) => list(s.Action).includes('ec2:RunInstances'));

    it('allows RunInstances on any resource only from the configured launch template', () => {
      const statements = runInstances(eu);
      expect(statements.length).toBeGreaterThan(1);
      for (const s of statements) {
        if (JSON.stringify(s.Resource).includes(':launch-template/')) {
          expect(s.Resource).toEqual(template);
          continue;
        }
        expect(s.Condition?.ArnLike?.['ec2:LaunchTemplate']).toEqual([template]);
      }
    });

    it('takes the image, security groups and key pair only as the template names them', () => {
      const s = runInstances(eu).find((st) => JSON.stringify(st.Resource).includes('::image/*'));
      expect(s?.Resource).toEqual([ec2('image/*', false), ec2('security-group/*'), ec2('key-pair/*')]);
      expect(s?.Condition?.Bool).toEqual({ 'ec2:IsLaunchTemplateResource': 'true' });
    });

    it('requires IMDSv2 on the instance and encryption on every volume', () => {
      const instance = runInstances(eu).find((s) => JSON.stringify(s.Resource).includes(':instance/*'));
      expect(instance?.Condition?.StringEquals?.['ec2:MetadataHttpTokens']).toBe('required');
      const volume = runInstances(eu).find((s) => JSON.stringify(s.Resource).includes(':volume/*'));
      expect(volume?.Resource).toEqual(ec2('volume/*'));
      expect(volume?.Condition?.Bool).toEqual({ 'ec2:Encrypted': 'true' });
    });

    it('passes only the configured instance role, to EC2 only; a subnetId override keeps the template condition', () => {
      const { stacks } = buildStacks({
        ...CONFIG,
        clusters: CONFIG.clusters.map((c) =>
          c.restoreVerify
            ? {
                ...c,
                restoreVerify: {
                  ...c.restoreVerify,
                  subnetId: 'subnet-0123456789abcdef0',
                  instanceRole: 'arn:aws:iam::123456789012:role/scratch/etcd-verify',
                },
              }
            : c,
        ),
      });
      const configured = templateFor(stacks, 'eu-west-1');
      const passRole = launchStatements(configured).filter((s) => list(s.Action).includes('iam:PassRole'));
      expect(passRole).toEqual([
        expect.objectContaining({
          Resource: 'arn:aws:iam::123456789012:role/scratch/etcd-verify',
          Condition: { StringEquals: { 'iam:PassedToService': 'ec2.amazonaws.com' } },
        }),
      ]);
      const network = runInstances(configured).find((s) => JSON.stringify(s.Resource).includes(':subnet/*'));
      expect(network?.Condition).toEqual({ ArnLike: { 'ec2:LaunchTemplate': [template] } });
    });
  });

  describe('6. each document reaches only the kind of node it targets', () => {
    it.each([
      ['eu-west-1', () => eu],
      ['us-east-1', () => us],
    ])(
      'in %s, every SendCommand grant on instances names a catalog command and the tags of its target kind',
      (_r, t) => {
        // CDK moves what does not fit the role's inline policy into managed overflow policies
        const onInstances = [
          ...Object.values(resources(t(), 'AWS::IAM::Policy')),
          ...Object.values(resources(t(), 'AWS::IAM::ManagedPolicy')),
        ]
          .flatMap((p) => policyStatements(p))
          .filter(
            (s) =>
              list(s.Action).includes('ssm:SendCommand') && JSON.stringify(s.Resource).includes(':instance/'),
          );
        for (const s of onInstances) {
          const command = COMMAND_NAMES.find((name) => s.Sid?.startsWith(`Send${pascal(name)}To`));
          expect(command).toBeDefined();
          const target = commandSpec(command!).target;
          const tags = s.Condition?.StringEquals ?? {};
          expect(tags['ssm:resourceTag/caretaker:cluster']).toEqual(expect.any(Array));
          // a node of the target kind carries more than the cluster tag (scratch: caretaker:role=scratch)
          expect(Object.keys(tags).length).toBeGreaterThan(1);
          if (target === 'scratch') expect(tags['ssm:resourceTag/caretaker:role']).toBe('scratch');
          else expect(tags['ssm:resourceTag/caretaker:role']).not.toBe('scratch');
        }
        // each command a cluster of the stack can run has its statement: the etcd ones only where
        // there is etcd; the node commands (patching) in both stacks
        const nodeCommands = [
          // the workers' kubelet upgrade (patch-workers with kubernetesVersion), on workers only
          'SendKubeletUpgradeToWorkerNodes',
          'SendNodeCordonToControlPlaneNodes',
          'SendNodeDrainToControlPlaneNodes',
          'SendNodeInventoryToControlPlaneNodes',
          // remediate's disk-pressure cleanup, on workers only
          'SendNodePruneToWorkerNodes',
          'SendNodeRecordToControlPlaneNodes',
          'SendNodeStatusToControlPlaneNodes',
          'SendOsPatchBaselineToNodeNodes1',
          'SendOsPatchBaselineToNodeNodes2',
          'SendOsPatchToNodeNodes1',
          'SendOsPatchToNodeNodes2',
        ];
        expect(onInstances.map((s) => s.Sid).sort()).toEqual(
          _r === 'eu-west-1'
            ? [
                'SendControlPlaneCheckToControlPlaneNodes',
                'SendControlPlaneUpgradeToControlPlaneNodes',
                'SendEtcdMaintenanceToControlPlaneNodes',
                'SendEtcdMoveLeaderToControlPlaneNodes',
                'SendEtcdRestartMemberToControlPlaneNodes',
                'SendEtcdRestoreVerifyToScratchNodes',
                'SendEtcdSnapshotToControlPlaneNodes',
                'SendEtcdStatusToControlPlaneNodes',
                // send-command's, and the health probe's own
                'SendHealthProbeToControlPlaneNodes',
                'SendHealthProbeToControlPlaneNodes',
                ...nodeCommands,
              ].sort()
            : nodeCommands,
        );
      },
    );
  });

  describe('7. documents take only the deployed bucket, and run at the version the stack wrote', () => {
    it('pins every Bucket parameter to the deployed bucket name, dots escaped', () => {
      const documents = Object.values(resources(eu, 'AWS::SSM::Document'));
      const withBucket = documents.filter(
        (d) => (d.Properties.Content as { parameters?: Record<string, unknown> }).parameters?.Bucket,
      );
      expect(withBucket.length).toBeGreaterThanOrEqual(2);
      for (const d of withBucket) {
        const bucket = (d.Properties.Content as { parameters: Record<string, { allowedPattern: unknown }> })
          .parameters.Bucket;
        expect(bucket?.allowedPattern).toEqual({
          'Fn::Join': [
            '',
            [
              '^',
              {
                'Fn::Join': [
                  '\\.',
                  { 'Fn::Split': ['.', { Ref: expect.stringMatching(/^SnapshotBucketSnapshots/) }] },
                ],
              },
              '$',
            ],
          ],
        });
      }
    });

    it('reads back each document\u2019s new version at deploy time and gives it to send-command', () => {
      const documents = Object.keys(resources(eu, 'AWS::SSM::Document'));
      const lookups = Object.entries(resources(eu, 'Custom::CaretakerDocumentVersion'));
      expect(lookups).toHaveLength(documents.length);
      for (const [, lookup] of lookups) {
        const create = JSON.stringify(lookup.Properties.Create);
        expect(create).toContain('\\"action\\":\\"DescribeDocument\\"');
        expect(create).toContain('\\"DocumentVersion\\":\\"$LATEST\\"');
        expect(lookup.Properties.Update).toEqual(lookup.Properties.Create);
      }
      const sendCommand = Object.entries(resources(eu, 'AWS::Lambda::Function')).find(([id]) =>
        id.startsWith('CommandRunnerSendCommandFunction'),
      )![1];
      const versions = JSON.stringify(
        (sendCommand.Properties.Environment as { Variables: Record<string, unknown> }).Variables
          .DOCUMENT_VERSIONS,
      );
      for (const document of documents) expect(versions).toContain(`{"Ref":"${document}"}`);
      for (const [id] of lookups)
        expect(versions).toContain(`{"Fn::GetAtt":["${id}","Document.DocumentVersion"]}`);
    });
  });

  describe('12. which actions may use Resource "*", role by role', () => {
    // X-Ray's segment upload, the read-only list calls and Step Functions' log delivery have no
    // resource-level permissions; anything else on "*" is a finding, and so is a new role with "*"
    const XRAY = ['xray:PutTelemetryRecords', 'xray:PutTraceSegments'];
    const LOOKUPS = ['ec2:DescribeInstances', 'ssm:DescribeInstanceInformation'];
    const STATE_MACHINE = [
      'logs:CreateLogDelivery',
      'logs:DeleteLogDelivery',
      'logs:DescribeLogGroups',
      'logs:DescribeResourcePolicies',
      'logs:GetLogDelivery',
      'logs:ListLogDeliveries',
      'logs:PutResourcePolicy',
      'logs:UpdateLogDelivery',
      'xray:GetSamplingRules',
      'xray:GetSamplingTargets',
      ...XRAY,
    ];
    const PINNED: Record<string, string[]> = {
      NotificationsPublishOutcomeRole: XRAY,
      ClusterLockAcquireLockRole: XRAY,
      ClusterLockReleaseLockRole: XRAY,
      InventoryFindControlPlaneRole: [...LOOKUPS, ...XRAY],
      CommandRunnerSendCommandRole: [...LOOKUPS, 'ssm:ListCommands', ...XRAY],
      CommandRunnerCompleteCommandRole: ['ssm:GetCommandInvocation', ...XRAY],
      CommandRunnerReconcileCommandsRole: ['ssm:GetCommandInvocation', ...XRAY],
      EtcdBackupPickMemberRole: XRAY,
      EtcdBackupVerifyUploadRole: XRAY,
      EtcdBackupPruneSnapshotsRole: XRAY,
      EtcdBackupStateMachineRole: STATE_MACHINE,
      RestoreVerifyPickSnapshotRole: XRAY,
      RestoreVerifyLaunchScratchRole: XRAY,
      RestoreVerifyCheckScratchReadyRole: [...LOOKUPS, ...XRAY],
      RestoreVerifyRecordVerificationRole: XRAY,
      RestoreVerifyTerminateScratchRole: ['ec2:DescribeInstances', ...XRAY],
      RestoreVerifyReapScratchRole: ['ec2:DescribeInstances', ...XRAY],
      RestoreVerifyStateMachineRole: STATE_MACHINE,
      WorkflowStarterStartWorkflowRole: XRAY,
      // the EKS workflows (us-east-1 has an EKS cluster)
      EksFunctionsPreflightRole: [
        'eks:DescribeAddonVersions',
        'ec2:DescribeSubnets',
        'ec2:DescribeInstances',
        ...XRAY,
      ],
      EksFunctionsPlanPatchRole: ['ec2:DescribeInstances', ...XRAY],
      EksFunctionsStartUpdateRole: XRAY,
      EksFunctionsCheckUpdateRole: XRAY,
      ApprovalsRequestApprovalRole: XRAY,
      EksUpgradeStateMachineRole: STATE_MACHINE,
      EksPatchNodegroupsStateMachineRole: STATE_MACHINE,
      HealthHealthProbeRole: [...LOOKUPS, 'ssm:GetCommandInvocation', ...XRAY],
      // the control-plane upgrade (eu-west-1 has a kubeadm cluster); DescribeTargetHealth has no
      // resource-level permissions, Deregister/RegisterTargets are on the configured groups only
      UpgradeControlPlaneCheckAlarmsRole: XRAY,
      UpgradeControlPlanePlanUpgradeRole: XRAY,
      UpgradeControlPlaneJudgeNodeGateRole: XRAY,
      UpgradeControlPlaneCheckTargetsRole: ['elasticloadbalancing:DescribeTargetHealth', ...XRAY],
      UpgradeControlPlaneDeregisterTargetsRole: ['elasticloadbalancing:DescribeTargetHealth', ...XRAY],
      UpgradeControlPlaneRegisterTargetsRole: XRAY,
      UpgradeControlPlaneStateMachineRole: STATE_MACHINE,
      // kops' instance replacement: the Auto Scaling and EC2 reads only where the stack has a kops cluster
      UpgradeControlPlaneReplaceInstanceRole: XRAY,
      UpgradeControlPlaneCheckReplacementRole: XRAY,
      // patch-control-plane runs the upgrade's ASL and functions with its own state machine
      PatchControlPlaneStateMachineRole: STATE_MACHINE,
    };

    /** role (logical id without its hash) or managed policy name → the actions it allows on "*" */
    function onEverything(template: Template): Record<string, string[]> {
      const found: Record<string, Set<string>> = {};
      const policies = [
        ...Object.values(resources(template, 'AWS::IAM::Policy')),
        ...Object.values(resources(template, 'AWS::IAM::ManagedPolicy')),
      ];
      for (const policy of policies) {
        const owners = policy.Properties.Roles
          ? (policy.Properties.Roles as { Ref: string }[]).map((r) => r.Ref.replace(/[0-9A-F]{8}$/, ''))
          : [String(policy.Properties.ManagedPolicyName)];
        for (const s of policyStatements(policy)) {
          if (s.Effect !== 'Allow' || !list(s.Resource).includes('*')) continue;
          for (const owner of owners) {
            found[owner] ??= new Set();
            for (const action of list(s.Action)) found[owner].add(action);
          }
        }
      }
      return Object.fromEntries(
        Object.entries(found).map(([owner, actions]) => [owner, [...actions].sort()]),
      );
    }

    it.each([
      ['eu-west-1', () => eu],
      ['us-east-1', () => us],
    ])('in %s, every role allows on "*" exactly the actions pinned here', (_r, t) => {
      const found = onEverything(t());
      expect(Object.keys(found).length).toBeGreaterThan(0);
      // every mismatch at once, so a new role shows all it needs in one run
      const unexpected = Object.fromEntries(
        Object.entries(found).filter(
          ([owner, actions]) => JSON.stringify(actions) !== JSON.stringify([...(PINNED[owner] ?? [])].sort()),
        ),
      );
      expect(unexpected).toEqual({});
    });
  });
});
