import { RemovalPolicy } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';

/**
 * One table for short-lived coordination records (docs/contracts.md): cluster leases
 * (`lock#<cluster>`) and pending command task tokens (`command#<id>#<instance>`). Both expire
 * through the `ttl` attribute.
 */
export class OperationsTable extends Construct {
  readonly table: dynamodb.Table;

  constructor(scope: Construct, id: string) {
    super(scope, id);
    this.table = new dynamodb.Table(this, 'Table', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'ttl',
      billingMode: dynamodb.BillingMode.PAY_PER_REQUEST,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      encryption: dynamodb.TableEncryption.AWS_MANAGED,
      // a lease that vanishes with a stack update could let two operations run at once
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}
