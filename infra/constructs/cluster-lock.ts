import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import { Construct } from 'constructs';
import { CaretakerFunction, type SharedEnvironment } from './caretaker-function';

/** the per-cluster operation lease: a conditional write in the operations table */
export class ClusterLock extends Construct {
  readonly acquire: CaretakerFunction;
  readonly release: CaretakerFunction;

  constructor(
    scope: Construct,
    id: string,
    props: { projectRoot: string; shared: SharedEnvironment; table: dynamodb.ITable },
  ) {
    super(scope, id);
    const common = { projectRoot: props.projectRoot, shared: props.shared };
    this.acquire = new CaretakerFunction(this, 'AcquireLock', { ...common, name: 'acquire-lock' });
    // one conditional put per scope takes a free, expired or own lease (a conditional delete gives
    // back what a refused multi-scope take took); UpdateItem renews; GetItem names the holder
    // where the failed write does not return it and checks a parent's lease — see dynamo-lock-store.ts
    this.acquire.allow({
      actions: ['dynamodb:PutItem', 'dynamodb:GetItem', 'dynamodb:UpdateItem', 'dynamodb:DeleteItem'],
      resources: [props.table.tableArn],
    });
    this.release = new CaretakerFunction(this, 'ReleaseLock', { ...common, name: 'release-lock' });
    // conditional delete of our own lease only
    this.release.allow({ actions: ['dynamodb:DeleteItem'], resources: [props.table.tableArn] });
  }
}
