import * as ssm from 'aws-cdk-lib/aws-ssm';
import { Construct } from 'constructs';
import type { ClusterConfig } from '../../functions/shared/domain/config';

export const CLUSTER_PARAMETER_PREFIX = '/caretaker/clusters';

/** each cluster's resolved configuration at /caretaker/clusters/<name>, read by the Lambdas */
export class ClusterParameters extends Construct {
  readonly parameters: ssm.StringParameter[];

  constructor(scope: Construct, id: string, props: { clusters: ClusterConfig[] }) {
    super(scope, id);
    this.parameters = props.clusters.map(
      (cluster) =>
        new ssm.StringParameter(this, cluster.name, {
          parameterName: `${CLUSTER_PARAMETER_PREFIX}/${cluster.name}`,
          description: `Caretaker configuration of cluster ${cluster.name} (resolved from caretaker.config.json)`,
          stringValue: JSON.stringify(cluster),
          tier: ssm.ParameterTier.STANDARD,
        }),
    );
  }
}
