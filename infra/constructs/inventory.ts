import { Construct } from 'constructs';
import { CaretakerFunction, type SharedEnvironment } from './caretaker-function';

/** find-control-plane: running, SSM-online instances carrying a cluster's control-plane tags */
export class Inventory extends Construct {
  readonly findControlPlane: CaretakerFunction;

  constructor(scope: Construct, id: string, props: { projectRoot: string; shared: SharedEnvironment }) {
    super(scope, id);
    this.findControlPlane = new CaretakerFunction(this, 'FindControlPlane', {
      name: 'find-control-plane',
      projectRoot: props.projectRoot,
      shared: props.shared,
      resourceStarReason:
        'ec2:DescribeInstances and ssm:DescribeInstanceInformation have no resource-level permissions (read-only list calls)',
    });
    this.findControlPlane.allow({
      actions: ['ec2:DescribeInstances', 'ssm:DescribeInstanceInformation'],
      resources: ['*'],
    });
  }
}
