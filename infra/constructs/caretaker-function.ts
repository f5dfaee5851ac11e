import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { AssetHashType, DockerImage, Duration, RemovalPolicy, Stack, Validations } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as destinations from 'aws-cdk-lib/aws-lambda-destinations';
import * as logs from 'aws-cdk-lib/aws-logs';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import { Construct } from 'constructs';
import { deadLetterQueue } from './dead-letters';
import { logsKey } from './logs-key';

export const FUNCTION_NAMES = [
  'start-workflow',
  'acquire-lock',
  'release-lock',
  'find-control-plane',
  'send-command',
  'pick-member',
  'verify-upload',
  'prune-snapshots',
  'publish-outcome',
  'complete-command',
  'reconcile-commands',
  'pick-snapshot',
  'launch-scratch',
  'check-scratch-ready',
  'record-verification',
  'terminate-scratch',
  'reap-scratch',
  'eks-preflight',
  'eks-plan-patch',
  'eks-start-update',
  'eks-check-update',
  'request-approval',
  'slack-receiver',
  'health-probe',
  'route-alarm',
  'claim-attempt',
  'plan-remediation',
  'plan-node-remediation',
  'recover-node',
  'prepare-patch',
  'plan-patch',
  'check-patch-gate',
  'record-patch',
  'finish-patch',
  'check-alarms',
  'plan-upgrade',
  'judge-node-gate',
  'deregister-targets',
  'check-targets',
  'register-targets',
] as const;
export type FunctionName = (typeof FUNCTION_NAMES)[number];

/** what every Caretaker function is told about the deployment */
export interface SharedEnvironment {
  CARETAKER_TABLE: string;
  CLUSTER_PARAMETER_PREFIX: string;
}

export interface CaretakerFunctionProps {
  name: FunctionName;
  /** the repository root: entries are functions/<name>/handler.ts under it */
  projectRoot: string;
  shared: SharedEnvironment;
  environment?: Record<string, string>;
  /**
   * why this function's own statements need Resource "*" besides X-Ray (say which API
   * requires it); omit when only X-Ray does
   */
  resourceStarReason?: string;
  timeout?: Duration;
  memorySize?: number;
}

/**
 * One Caretaker Lambda: functions/<name>/handler.ts bundled with the SDK inside (infra/bundling.ts),
 * ARM, Node 22, X-Ray, its own log group and its own role (no AWSLambdaBasicExecutionRole: the
 * role may write to this function's log group only).
 */
export class CaretakerFunction extends Construct {
  readonly fn: lambda.Function;
  readonly role: iam.Role;
  /** where its logs (and EMF lines) go */
  readonly logGroup: logs.LogGroup;

  constructor(scope: Construct, id: string, props: CaretakerFunctionProps) {
    super(scope, id);
    const logGroup = (this.logGroup = new logs.LogGroup(this, 'Logs', {
      retention: logs.RetentionDays.THREE_MONTHS,
      encryptionKey: logsKey(this),
      removalPolicy: RemovalPolicy.DESTROY,
    }));
    this.role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('lambda.amazonaws.com'),
      description: `caretaker-${props.name} in ${Stack.of(this).region}`,
    });
    logGroup.grantWrite(this.role);

    this.fn = new lambda.Function(this, 'Function', {
      code: bundledCode(props.projectRoot, props.name),
      handler: 'index.handler',
      runtime: lambda.Runtime.NODEJS_22_X,
      architecture: lambda.Architecture.ARM_64,
      memorySize: props.memorySize ?? 256,
      timeout: props.timeout ?? Duration.seconds(30),
      tracing: lambda.Tracing.ACTIVE,
      role: this.role,
      logGroup,
      description: `Caretaker ${props.name}`,
      environment: {
        POWERTOOLS_SERVICE_NAME: `caretaker-${props.name}`,
        POWERTOOLS_METRICS_NAMESPACE: 'Caretaker',
        // the bundles ship source maps; without this flag stack traces point into minified code
        NODE_OPTIONS: '--enable-source-maps',
        ...props.shared,
        ...props.environment,
      },
    });

    // X-Ray's PutTraceSegments/PutTelemetryRecords take no resource ARN: the API requires "*"
    Validations.of(this.role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason: [
        'xray:PutTraceSegments and xray:PutTelemetryRecords (active tracing) support only Resource "*"',
        props.resourceStarReason,
      ]
        .filter(Boolean)
        .join('; '),
    });
    // pinned on purpose: esbuild targets node22 and the code is tested against it
    Validations.of(this.fn).acknowledge({
      id: 'AwsSolutions-L1',
      reason:
        'nodejs22.x is pinned deliberately: bundles are built with esbuild target node22 and tested on it; a runtime bump is a reviewed change',
    });
  }

  /** adds one statement to this function's role */
  allow(statement: iam.PolicyStatementProps): void {
    this.role.addToPolicy(new iam.PolicyStatement(statement));
  }

  /**
   * For a function invoked asynchronously (EventBridge rules, Scheduler): an event that still
   * fails after Lambda's two retries goes to this queue (on-failure destination) instead of
   * vanishing. The stack alarms on every dead-letter queue's depth.
   */
  keepFailedEvents(): sqs.Queue {
    const queue = deadLetterQueue(
      this,
      'FailedEvents',
      `the asynchronous invocations of ${this.fn.node.path} that failed after Lambda's retries (on-failure destination)`,
    );
    this.fn.configureAsyncInvoke({
      onFailure: new destinations.SqsDestination(queue),
      retryAttempts: 2,
    });
    return queue;
  }
}

/**
 * functions/<name>/handler.ts bundled by infra/bundling.ts (the SDK inside: each function
 * carries only the clients it imports, at the locked versions), in a child process because
 * CDK's local bundling is synchronous; the asset hash is the bundle's. The Docker image is
 * never used: a failed bundle throws instead of falling back to Docker.
 */
function bundledCode(projectRoot: string, name: FunctionName): lambda.Code {
  return lambda.Code.fromAsset(join(projectRoot, 'functions', name), {
    assetHashType: AssetHashType.OUTPUT,
    bundling: {
      image: DockerImage.fromRegistry('public.ecr.aws/sam/build-nodejs22.x'),
      local: {
        tryBundle(outputDir: string): boolean {
          const script = join(projectRoot, 'infra', 'bundling.ts');
          const r = spawnSync(process.execPath, ['--import', 'tsx', script, projectRoot, name, outputDir], {
            cwd: projectRoot,
            stdio: ['ignore', 'inherit', 'pipe'],
            encoding: 'utf8',
          });
          if (r.status !== 0) throw new Error(`bundling functions/${name} failed: ${r.stderr || r.error}`);
          return true;
        },
      },
    },
  });
}
