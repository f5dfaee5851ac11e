import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { CaretakerFunction, type SharedEnvironment } from './caretaker-function';

/** the remediate workflow's own Lambdas: the attempt ledger (DynamoDB) and the pure plan */
export class RemediationFunctions extends Construct {
  readonly claimAttempt: CaretakerFunction;
  readonly planRemediation: CaretakerFunction;

  constructor(
    scope: Construct,
    id: string,
    props: { projectRoot: string; shared: SharedEnvironment; table: dynamodb.ITable },
  ) {
    super(scope, id);
    const common = { projectRoot: props.projectRoot, shared: props.shared };
    this.claimAttempt = new CaretakerFunction(this, 'ClaimAttempt', { name: 'claim-attempt', ...common });
    // the ledger: read, then one conditional update per attempt
    this.claimAttempt.allow({
      actions: ['dynamodb:GetItem', 'dynamodb:UpdateItem'],
      resources: [props.table.tableArn],
    });
    this.planRemediation = new CaretakerFunction(this, 'PlanRemediation', {
      name: 'plan-remediation',
      ...common,
    });
  }
}
