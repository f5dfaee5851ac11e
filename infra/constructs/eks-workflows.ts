import { ArnFormat, Duration, Stack, Token, Validations } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import type { ClusterConfig } from '../../functions/shared/domain/config';
import { CaretakerFunction, type SharedEnvironment } from './caretaker-function';

export interface EksWorkflowsProps {
  projectRoot: string;
  shared: SharedEnvironment;
  /** the stack's clusters; only those of kind eks are reached */
  clusters: ClusterConfig[];
}

/**
 * The functions of the EKS workflows (eks-upgrade, eks-patch-nodegroups), each with only the EKS
 * actions it calls, on the ARNs of this stack's EKS clusters (their add-ons and node groups):
 * reads for preflight and plan, the three update calls for eks-start-update, DescribeUpdate for
 * eks-check-update. The state machines come from the registry (RegisteredWorkflow).
 */
export class EksWorkflows extends Construct {
  readonly preflight: CaretakerFunction;
  readonly planPatch: CaretakerFunction;
  readonly startUpdate: CaretakerFunction;
  readonly checkUpdate: CaretakerFunction;

  constructor(scope: Construct, id: string, props: EksWorkflowsProps) {
    super(scope, id);
    const common = { projectRoot: props.projectRoot, shared: props.shared };
    const stack = Stack.of(this);
    const names = props.clusters.filter((c) => c.kind === 'eks').map((c) => c.name);
    const arn = (resource: string, resourceName: string) =>
      stack.formatArn({ service: 'eks', resource, resourceName, arnFormat: ArnFormat.SLASH_RESOURCE_NAME });
    const clusters = names.map((n) => arn('cluster', n));
    // add-on and node-group ARNs end in an id EKS assigns: `addon/<cluster>/<name>/<uuid>`
    const addons = names.map((n) => arn('addon', `${n}/*/*`));
    const nodegroups = names.map((n) => arn('nodegroup', `${n}/*/*`));
    // how cdk-nag writes the ARN in a finding: a concrete region, or the pseudo parameter
    const region = Token.isUnresolved(stack.region) ? '<AWS::Region>' : stack.region;
    const acknowledge = (fn: CaretakerFunction, reason: string) => {
      for (const n of names) {
        for (const kind of ['addon', 'nodegroup']) {
          Validations.of(fn.role).acknowledge({
            id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:eks:${region}:<AWS::AccountId>:${kind}/${n}/*/*]`,
            reason,
          });
        }
      }
    };
    const subResourceReason = `the add-on and node-group ARNs of the configured EKS clusters only: their names are found at run time (ListAddons, ListNodegroups) and each ends in an id EKS assigns`;

    this.preflight = new CaretakerFunction(this, 'Preflight', {
      ...common,
      name: 'eks-preflight',
      timeout: Duration.minutes(2),
      resourceStarReason:
        'eks:DescribeAddonVersions, ec2:DescribeSubnets and ec2:DescribeInstances have no resource-level permissions (read-only)',
    });
    this.preflight.allow({
      sid: 'ReadEksClusters',
      actions: [
        'eks:DescribeCluster',
        'eks:ListInsights',
        'eks:DescribeInsight',
        'eks:ListAddons',
        'eks:ListNodegroups',
      ],
      resources: clusters,
    });
    this.preflight.allow({
      sid: 'ReadEksAddonsAndNodegroups',
      actions: ['eks:DescribeAddon', 'eks:DescribeNodegroup'],
      resources: [...addons, ...nodegroups],
    });
    this.preflight.allow({
      sid: 'ReadCatalogAndNetwork',
      actions: ['eks:DescribeAddonVersions', 'ec2:DescribeSubnets', 'ec2:DescribeInstances'],
      resources: ['*'],
    });
    acknowledge(this.preflight, subResourceReason);

    this.planPatch = new CaretakerFunction(this, 'PlanPatch', {
      ...common,
      name: 'eks-plan-patch',
      timeout: Duration.minutes(1),
      resourceStarReason: 'ec2:DescribeInstances has no resource-level permissions (read-only)',
    });
    this.planPatch.allow({
      sid: 'ReadEksClusters',
      actions: ['eks:DescribeCluster', 'eks:ListNodegroups'],
      resources: clusters,
    });
    this.planPatch.allow({
      sid: 'ReadEksNodegroups',
      actions: ['eks:DescribeNodegroup'],
      resources: nodegroups,
    });
    this.planPatch.allow({ sid: 'FindOtherNodes', actions: ['ec2:DescribeInstances'], resources: ['*'] });
    // the public parameters naming the newest EKS-optimized AMI releases (no account in their ARN)
    const publicParameter = (path: string) =>
      stack.formatArn({ service: 'ssm', account: '', resource: 'parameter', resourceName: path });
    this.planPatch.allow({
      sid: 'ReadAmiReleases',
      actions: ['ssm:GetParameter'],
      resources: [
        publicParameter('aws/service/eks/optimized-ami/*'),
        publicParameter('aws/service/bottlerocket/*'),
      ],
    });
    for (const path of ['aws/service/eks/optimized-ami/*', 'aws/service/bottlerocket/*']) {
      Validations.of(this.planPatch.role).acknowledge({
        id: `AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:ssm:${region}::parameter/${path}]`,
        reason:
          'AWS public parameters of EKS-optimized and Bottlerocket AMI releases, one per AMI type and Kubernetes version',
      });
    }
    acknowledge(this.planPatch, subResourceReason);

    this.startUpdate = new CaretakerFunction(this, 'StartUpdate', { ...common, name: 'eks-start-update' });
    this.startUpdate.allow({
      sid: 'UpdateControlPlane',
      actions: ['eks:UpdateClusterVersion'],
      resources: clusters,
    });
    this.startUpdate.allow({ sid: 'UpdateAddons', actions: ['eks:UpdateAddon'], resources: addons });
    this.startUpdate.allow({
      sid: 'UpdateNodegroups',
      actions: ['eks:UpdateNodegroupVersion'],
      resources: nodegroups,
    });
    acknowledge(this.startUpdate, subResourceReason);

    this.checkUpdate = new CaretakerFunction(this, 'CheckUpdate', { ...common, name: 'eks-check-update' });
    this.checkUpdate.allow({
      sid: 'DescribeUpdates',
      actions: ['eks:DescribeUpdate'],
      resources: [...clusters, ...addons, ...nodegroups],
    });
    acknowledge(this.checkUpdate, subResourceReason);
  }

  /** by function name, for the registry's state machines */
  functions(): Record<string, CaretakerFunction> {
    return {
      'eks-preflight': this.preflight,
      'eks-plan-patch': this.planPatch,
      'eks-start-update': this.startUpdate,
      'eks-check-update': this.checkUpdate,
    };
  }
}
