import { Match, type Template } from 'aws-cdk-lib/assertions';
import { buildStacks, CONFIG, DOCUMENT_NAMES, documentRef, templateFor } from './build';

describe('the Caretaker stacks', () => {
  let eu: Template;
  let us: Template;
  let stackNames: string[];

  beforeAll(() => {
    const { stacks } = buildStacks();
    stackNames = stacks.map((s) => s.stackName);
    eu = templateFor(stacks, 'eu-west-1');
    us = templateFor(stacks, 'us-east-1');
  });

  it('creates one stack per cluster region', () => {
    expect(stackNames.sort()).toEqual(['Caretaker-eu-west-1', 'Caretaker-us-east-1']);
  });

  describe('snapshot bucket', () => {
    it('encrypts with its own rotating KMS key and a bucket key', () => {
      eu.hasResourceProperties('AWS::KMS::Key', {
        EnableKeyRotation: true,
        Description: 'Caretaker etcd snapshots',
      });
      eu.hasResourceProperties('AWS::S3::Bucket', {
        BucketEncryption: {
          ServerSideEncryptionConfiguration: [
            {
              BucketKeyEnabled: true,
              ServerSideEncryptionByDefault: {
                SSEAlgorithm: 'aws:kms',
                KMSMasterKeyID: Match.objectLike({
                  'Fn::GetAtt': [Match.stringLikeRegexp('SnapshotBucketKey'), 'Arn'],
                }),
              },
            },
          ],
        },
        VersioningConfiguration: { Status: 'Enabled' },
        PublicAccessBlockConfiguration: {
          BlockPublicAcls: true,
          BlockPublicPolicy: true,
          IgnorePublicAcls: true,
          RestrictPublicBuckets: true,
        },
        LoggingConfiguration: Match.objectLike({ LogFilePrefix: 'snapshots/' }),
      });
    });

    it('expires pruned versions after noncurrentDays and aborts stale multipart uploads', () => {
      eu.hasResourceProperties('AWS::S3::Bucket', {
        LifecycleConfiguration: {
          Rules: Match.arrayWith([
            Match.objectLike({
              Id: 'expire-pruned-versions',
              NoncurrentVersionExpiration: { NoncurrentDays: 30 },
            }),
            Match.objectLike({
              Id: 'abort-incomplete-uploads',
              AbortIncompleteMultipartUpload: { DaysAfterInitiation: 1 },
            }),
          ]),
        },
      });
    });

    it('denies requests without TLS', () => {
      eu.hasResourceProperties('AWS::S3::BucketPolicy', {
        Bucket: { Ref: Match.stringLikeRegexp('SnapshotBucketSnapshots') },
        PolicyDocument: {
          Statement: Match.arrayWith([
            Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
          ]),
        },
      });
    });

    it('is retained when the stack goes', () => {
      const buckets = eu.findResources('AWS::S3::Bucket');
      for (const bucket of Object.values(buckets)) expect(bucket.DeletionPolicy).toBe('Retain');
    });

    it('locks every snapshot version for one day by default (governance)', () => {
      eu.hasResourceProperties('AWS::S3::Bucket', {
        ObjectLockEnabled: true,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 1 } },
        },
      });
    });

    it('has no Object Lock with bucket.objectLock false', () => {
      const { stacks } = buildStacks({ ...CONFIG, bucket: { objectLock: false } });
      const unlocked = templateFor(stacks, 'eu-west-1');
      expect(JSON.stringify(unlocked.findResources('AWS::S3::Bucket'))).not.toContain('ObjectLock');
    });

    it('sets GOVERNANCE default retention when objectLockDays is configured', () => {
      const { stacks } = buildStacks({ ...CONFIG, bucket: { objectLockDays: 35, noncurrentDays: 90 } });
      const locked = templateFor(stacks, 'eu-west-1');
      locked.hasResourceProperties('AWS::S3::Bucket', {
        ObjectLockEnabled: true,
        ObjectLockConfiguration: {
          ObjectLockEnabled: 'Enabled',
          Rule: { DefaultRetention: { Mode: 'GOVERNANCE', Days: 35 } },
        },
        LifecycleConfiguration: {
          Rules: Match.arrayWith([Match.objectLike({ NoncurrentVersionExpiration: { NoncurrentDays: 90 } })]),
        },
      });
    });
  });

  it('keeps leases and task tokens in a pk/ttl table with point-in-time recovery', () => {
    eu.hasResourceProperties('AWS::DynamoDB::Table', {
      KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
      AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
      TimeToLiveSpecification: { AttributeName: 'ttl', Enabled: true },
      BillingMode: 'PAY_PER_REQUEST',
      PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
      SSESpecification: { SSEEnabled: true },
    });
  });

  it('stores each resolved cluster under /caretaker/clusters/<name>', () => {
    const params = eu.findResources('AWS::SSM::Parameter');
    const byName = Object.fromEntries(
      Object.values(params).map((p) => [p.Properties.Name, JSON.parse(p.Properties.Value as string)]),
    );
    expect(Object.keys(byName).sort()).toEqual(['/caretaker/clusters/edge', '/caretaker/clusters/prod-eu']);
    expect(byName['/caretaker/clusters/prod-eu']).toMatchObject({
      name: 'prod-eu',
      etcd: { etcdctl: 'crictl', clientPort: 2379 },
      controlPlaneTags: { 'caretaker:cluster': 'prod-eu' },
    });
  });

  describe('SSM documents', () => {
    it('inlines each .sh file as the runCommand of its document', () => {
      const docs = eu.findResources('AWS::SSM::Document');
      expect(Object.keys(docs)).toHaveLength(DOCUMENT_NAMES.length);
      for (const doc of Object.values(docs)) {
        expect(doc.Properties).toMatchObject({ DocumentType: 'Command', UpdateMethod: 'NewVersion' });
        // the aws:runShellScript step (os-patch-baseline runs AWS-RunPatchBaseline before it)
        const steps = doc.Properties.Content.mainSteps as {
          action: string;
          inputs: { runCommand?: string[] };
        }[];
        const run = steps.find((s) => s.action === 'aws:runShellScript')!.inputs.runCommand!;
        expect(run.length).toBeGreaterThan(5);
        expect(run.join('\n')).toContain('CARETAKER_RESULT');
        expect(run.join('\n')).not.toContain('replaced at synth');
      }
    });
  });

  describe('functions', () => {
    it('runs every handler on Node 22, arm64, with X-Ray and Powertools settings', () => {
      const all = Object.entries(eu.findResources('AWS::Lambda::Function'));
      // besides Caretaker's own: CDK's AwsCustomResource handler, which reads back document versions
      const [others, ours] = [
        all.filter(([id]) => id.startsWith('AWS')).map(([, fn]) => fn),
        all.filter(([id]) => !id.startsWith('AWS')).map(([, fn]) => fn),
      ];
      expect(others).toHaveLength(1);
      // 11 shared and etcd-backup functions + 6 of restore-verify + the health probe + 8 of
      // upgrade-control-plane (patch-control-plane runs the same ones) and request-approval, its approval gate
      expect(ours).toHaveLength(27);
      for (const fn of ours) {
        expect(fn.Properties).toMatchObject({
          Runtime: 'nodejs22.x',
          Architectures: ['arm64'],
          Handler: 'index.handler',
          TracingConfig: { Mode: 'Active' },
          LoggingConfig: { LogGroup: { Ref: expect.stringMatching(/Logs/) } },
        });
        const env = fn.Properties.Environment.Variables;
        expect(env.POWERTOOLS_SERVICE_NAME).toMatch(/^caretaker-[a-z-]+$/);
        expect(env.POWERTOOLS_METRICS_NAMESPACE).toBe('Caretaker');
        expect(env.CLUSTER_PARAMETER_PREFIX).toBe('/caretaker/clusters');
        expect(env.CARETAKER_TABLE).toEqual({ Ref: expect.stringMatching(/^OperationsTable/) });
      }
    });

    it('keeps every log group for a limited time', () => {
      for (const group of Object.values(eu.findResources('AWS::Logs::LogGroup'))) {
        expect(group.Properties.RetentionInDays).toBe(90);
      }
    });

    it('tells send-command the deployed name of each logical document', () => {
      eu.hasResourceProperties('AWS::Lambda::Function', {
        Environment: {
          Variables: Match.objectLike({
            POWERTOOLS_SERVICE_NAME: 'caretaker-send-command',
            DOCUMENTS: {
              'Fn::Join': [
                '',
                DOCUMENT_NAMES.flatMap((name, i) => [
                  `${i === 0 ? '{"' : '","'}${name}":"`,
                  documentRef(name),
                ]).concat(['"}']),
              ],
            },
            SNAPSHOT_BUCKET: { Ref: Match.stringLikeRegexp('SnapshotBucketSnapshots') },
          }),
        },
      });
    });
  });

  describe('IAM', () => {
    it('lets send-command run only our documents', () => {
      eu.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Sid: 'SendOurDocuments',
              Effect: 'Allow',
              Action: 'ssm:SendCommand',
              Resource: DOCUMENT_NAMES.map((name) => ({
                'Fn::Join': ['', Match.arrayWith([documentRef(name)])],
              })),
            },
          ]),
        },
      });
    });

    it('lets send-command reach, per document, only the nodes that document targets', () => {
      const instances = {
        'Fn::Join': [
          '',
          ['arn:', { Ref: 'AWS::Partition' }, ':ec2:eu-west-1:', { Ref: 'AWS::AccountId' }, ':instance/*'],
        ],
      };
      const send = (sid: string, tags: Record<string, unknown>) => ({
        Sid: sid,
        Effect: 'Allow',
        Action: 'ssm:SendCommand',
        Resource: instances,
        Condition: { StringEquals: tags },
      });
      eu.hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith(
            ['SendEtcdStatusToControlPlaneNodes', 'SendEtcdSnapshotToControlPlaneNodes']
              .map((sid) =>
                send(sid, {
                  'ssm:resourceTag/caretaker:cluster': ['prod-eu', 'edge'],
                  'ssm:resourceTag/caretaker:role': 'control-plane',
                }),
              )
              .concat(
                send('SendEtcdRestoreVerifyToScratchNodes', {
                  'ssm:resourceTag/caretaker:cluster': ['prod-eu'],
                  'ssm:resourceTag/caretaker:role': 'scratch',
                }),
              ),
          ),
        },
      });
      // a cluster that names its own control-plane tags gets a statement of its own
      const { stacks } = buildStacks({
        ...CONFIG,
        clusters: CONFIG.clusters.map((c) =>
          c.name === 'edge' ? { ...c, controlPlane: { tags: { role: 'etcd' } } } : c,
        ),
      });
      templateFor(stacks, 'eu-west-1').hasResourceProperties('AWS::IAM::Policy', {
        PolicyDocument: {
          Statement: Match.arrayWith([
            send('SendEtcdSnapshotToControlPlaneNodes1', {
              'ssm:resourceTag/caretaker:cluster': ['prod-eu'],
              'ssm:resourceTag/caretaker:role': 'control-plane',
            }),
            send('SendEtcdSnapshotToControlPlaneNodes2', {
              'ssm:resourceTag/caretaker:cluster': ['edge'],
              'ssm:resourceTag/role': 'etcd',
            }),
          ]),
        },
      });
    });

    it('gives the node policy of a cluster uploads under its own etcd/ prefix and the key only through S3', () => {
      eu.hasResourceProperties('AWS::IAM::ManagedPolicy', {
        ManagedPolicyName: 'Caretaker-eu-west-1-node-edge',
        PolicyDocument: {
          Statement: [
            {
              Sid: 'UploadOwnClusterSnapshots',
              Effect: 'Allow',
              Action: ['s3:PutObject', 's3:AbortMultipartUpload', 's3:ListMultipartUploadParts'],
              Resource: {
                'Fn::Join': [
                  '',
                  [
                    { 'Fn::GetAtt': [Match.stringLikeRegexp('SnapshotBucketSnapshots'), 'Arn'] },
                    '/edge/etcd/*',
                  ],
                ],
              },
            },
            {
              Sid: 'EncryptWithSnapshotKeyThroughS3',
              Effect: 'Allow',
              Action: ['kms:GenerateDataKey', 'kms:Decrypt'],
              Resource: { 'Fn::GetAtt': [Match.stringLikeRegexp('SnapshotBucketKey'), 'Arn'] },
              Condition: { StringEquals: { 'kms:ViaService': 's3.eu-west-1.amazonaws.com' } },
            },
          ],
        },
      });
    });

    it('creates no node policy for an EKS cluster', () => {
      us.resourceCountIs('AWS::IAM::ManagedPolicy', 0);
    });

    it('attaches no AWS managed policies to any role', () => {
      for (const role of Object.values(eu.findResources('AWS::IAM::Role'))) {
        expect(role.Properties.ManagedPolicyArns).toBeUndefined();
      }
    });
  });

  it('routes final SSM status events of our documents to complete-command, with a DLQ', () => {
    eu.hasResourceProperties('AWS::Events::Rule', {
      EventPattern: {
        source: ['aws.ssm'],
        'detail-type': ['EC2 Command Invocation Status-change Notification'],
        detail: {
          'document-name': DOCUMENT_NAMES.map(documentRef),
          status: [{ 'anything-but': ['Pending', 'InProgress', 'Delayed', 'Cancelling'] }],
        },
      },
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('CompleteCommandFunction'), 'Arn'] },
          DeadLetterConfig: { Arn: Match.anyValue() },
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: Match.anyValue() }),
        }),
      ],
    });
    eu.hasResourceProperties('AWS::Events::Rule', {
      ScheduleExpression: 'rate(5 minutes)',
      Targets: [
        Match.objectLike({
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('ReconcileCommandsFunction'), 'Arn'] },
        }),
      ],
    });
    eu.hasResourceProperties('AWS::SQS::Queue', { SqsManagedSseEnabled: true });
  });

  describe('schedules', () => {
    it('starts etcd-backup per cluster at its expression and time zone, passing the scheduled time', () => {
      eu.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'cron(15 */4 * * ? *)',
        ScheduleExpressionTimezone: 'Europe/Berlin',
        FlexibleTimeWindow: { Mode: 'OFF' },
        Target: {
          Arn: { 'Fn::GetAtt': [Match.stringLikeRegexp('StartWorkflowFunction'), 'Arn'] },
          RoleArn: Match.anyValue(),
          Input: JSON.stringify({
            cluster: 'edge',
            workflow: 'etcd-backup',
            scheduledTime: '<aws.scheduler.scheduled-time>',
          }),
          RetryPolicy: Match.objectLike({ MaximumRetryAttempts: Match.anyValue() }),
          DeadLetterConfig: { Arn: Match.anyValue() },
        },
      });
      eu.hasResourceProperties('AWS::Scheduler::Schedule', {
        ScheduleExpression: 'rate(1 hour)',
        ScheduleExpressionTimezone: 'UTC',
      });
    });

    it('schedules nothing for a cluster without etcd backups', () => {
      us.resourceCountIs('AWS::Scheduler::Schedule', 0);
      // the dead-letter queues still alarm; no workflow alarm watches a backup that never runs
      expect(
        Object.keys(us.findResources('AWS::CloudWatch::Alarm', { Properties: { Namespace: 'Caretaker' } })),
      ).toEqual([]);
    });
  });

  it('alarms when the newest snapshot is older than two schedule intervals (the probe measures it)', () => {
    eu.hasResourceProperties('AWS::CloudWatch::Alarm', {
      AlarmName: 'caretaker.prod-eu.stale-backup',
      Namespace: 'Caretaker',
      MetricName: 'SnapshotAgeSeconds',
      Dimensions: [{ Name: 'cluster', Value: 'prod-eu' }],
      Statistic: 'Maximum',
      Period: 300,
      EvaluationPeriods: 1,
      Threshold: 7200,
      ComparisonOperator: 'GreaterThanOrEqualToThreshold',
      TreatMissingData: 'breaching',
      AlarmActions: [{ Ref: Match.stringLikeRegexp('NotificationsOutcomes') }],
    });
  });

  it('encrypts the notification topic, requires TLS and subscribes the configured emails', () => {
    eu.hasResourceProperties('AWS::SNS::Topic', { KmsMasterKeyId: Match.anyValue() });
    eu.hasResourceProperties('AWS::SNS::TopicPolicy', {
      PolicyDocument: {
        Statement: Match.arrayWith([
          Match.objectLike({ Effect: 'Deny', Condition: { Bool: { 'aws:SecureTransport': 'false' } } }),
        ]),
      },
    });
    eu.hasResourceProperties('AWS::SNS::Subscription', { Protocol: 'email', Endpoint: 'oncall@example.com' });
  });

  describe('etcd-backup state machine', () => {
    it('is a Standard workflow that logs errors and traces', () => {
      eu.hasResourceProperties('AWS::StepFunctions::StateMachine', {
        StateMachineType: 'STANDARD',
        LoggingConfiguration: Match.objectLike({ Level: 'ERROR', IncludeExecutionData: false }),
        TracingConfiguration: { Enabled: true },
      });
    });

    it('substitutes every function the definition names', () => {
      const machine = Object.entries(eu.findResources('AWS::StepFunctions::StateMachine')).find(([id]) =>
        id.startsWith('EtcdBackup'),
      )?.[1];
      const substitutions = machine?.Properties.DefinitionSubstitutions as Record<string, unknown>;
      expect(Object.keys(substitutions).sort()).toEqual([
        'AcquireLockFunctionArn',
        'FindControlPlaneFunctionArn',
        'PickMemberFunctionArn',
        'PruneSnapshotsFunctionArn',
        'PublishOutcomeFunctionArn',
        'ReleaseLockFunctionArn',
        'SendCommandFunctionArn',
        'VerifyUploadFunctionArn',
      ]);
      for (const value of Object.values(substitutions)) {
        expect(value).toEqual({ 'Fn::GetAtt': [expect.stringMatching(/Function/), 'Arn'] });
      }
    });

    it('may invoke exactly those functions, unqualified', () => {
      eu.hasResourceProperties('AWS::IAM::Policy', {
        Roles: [{ Ref: Match.stringLikeRegexp('StateMachineRole') }],
        PolicyDocument: {
          Statement: Match.arrayWith([
            {
              Effect: 'Allow',
              Action: 'lambda:InvokeFunction',
              Resource: Match.arrayEquals(
                Array.from({ length: 8 }, () => ({ 'Fn::GetAtt': [Match.anyValue(), 'Arn'] })),
              ),
            },
          ]),
        },
      });
    });

    it("lets the command completers answer its task tokens (and restore-verify's where deployed)", () => {
      for (const role of ['CompleteCommandRole', 'ReconcileCommandsRole']) {
        eu.hasResourceProperties('AWS::IAM::Policy', {
          Roles: [{ Ref: Match.stringLikeRegexp(role) }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              {
                Effect: 'Allow',
                Action: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
                Resource: [
                  { Ref: Match.stringLikeRegexp('EtcdBackupStateMachine') },
                  { Ref: Match.stringLikeRegexp('RestoreVerifyStateMachine') },
                  { Ref: Match.stringLikeRegexp('UpgradeControlPlaneStateMachine') },
                  { Ref: Match.stringLikeRegexp('PatchControlPlaneStateMachine') },
                ],
              },
            ]),
          },
        });
        us.hasResourceProperties('AWS::IAM::Policy', {
          Roles: [{ Ref: Match.stringLikeRegexp(role) }],
          PolicyDocument: {
            Statement: Match.arrayWith([
              Match.objectLike({
                Action: ['states:SendTaskSuccess', 'states:SendTaskFailure'],
                Resource: { Ref: Match.stringLikeRegexp('EtcdBackupStateMachine') },
              }),
            ]),
          },
        });
      }
    });
  });

  it('exports the state machine ARN and outputs one node policy per etcd cluster', () => {
    eu.hasOutput('EtcdBackupStateMachineArn', {
      Export: { Name: 'Caretaker-eu-west-1-EtcdBackupStateMachineArn' },
    });
    eu.hasOutput('NodePolicyArnprodeu', Match.anyValue());
    eu.hasOutput('NodePolicyArnedge', Match.anyValue());
  });
});
