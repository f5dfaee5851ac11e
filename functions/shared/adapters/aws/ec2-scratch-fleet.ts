import {
  EC2Client,
  paginateDescribeInstances,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from '@aws-sdk/client-ec2';
import { ROLE_TAG, SCRATCH_ROLE } from '../../domain/config';
import type { ScratchFleet, ScratchInstance } from '../../ports';
import { rethrowTransient } from './transient';

/** scratch instances from the cluster's launch template, tagged so only they can be terminated */
export function ec2ScratchFleet(client = new EC2Client({})): ScratchFleet {
  return {
    async launch(req) {
      const tags = Object.entries(req.tags).map(([Key, Value]) => ({ Key, Value }));
      const out = await client
        .send(
          new RunInstancesCommand({
            MinCount: 1,
            MaxCount: 1,
            ClientToken: req.clientToken.slice(0, 64),
            LaunchTemplate: req.launchTemplate.startsWith('lt-')
              ? { LaunchTemplateId: req.launchTemplate, Version: req.launchTemplateVersion }
              : { LaunchTemplateName: req.launchTemplate, Version: req.launchTemplateVersion },
            ...(req.subnetId && { SubnetId: req.subnetId }),
            ...(req.instanceType && { InstanceType: req.instanceType as never }),
            // an instance that shuts itself down is gone, not parked
            InstanceInitiatedShutdownBehavior: 'terminate',
            // IMDSv2 only, whatever the template says: launch-scratch's IAM requires it
            MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled' },
            TagSpecifications: [
              { ResourceType: 'instance', Tags: tags },
              { ResourceType: 'volume', Tags: tags },
            ],
          }),
        )
        .catch(rethrowTransient);
      const instanceId = out.Instances?.[0]?.InstanceId;
      if (!instanceId) throw new Error('RunInstances returned no instance');
      return { instanceId };
    },

    async listScratch() {
      const found: ScratchInstance[] = [];
      try {
        const pages = paginateDescribeInstances(
          { client },
          {
            Filters: [
              { Name: `tag:${ROLE_TAG}`, Values: [SCRATCH_ROLE] },
              { Name: 'instance-state-name', Values: ['pending', 'running', 'stopping', 'stopped'] },
            ],
          },
        );
        for await (const page of pages) {
          for (const r of page.Reservations ?? []) {
            for (const i of r.Instances ?? []) {
              if (!i.InstanceId) continue;
              found.push({
                instanceId: i.InstanceId,
                state: i.State?.Name ?? 'unknown',
                tags: Object.fromEntries((i.Tags ?? []).map((t) => [t.Key ?? '', t.Value ?? ''])),
              });
            }
          }
        }
      } catch (e) {
        rethrowTransient(e);
      }
      return found;
    },

    async terminate(instanceId) {
      await client.send(new TerminateInstancesCommand({ InstanceIds: [instanceId] })).catch((e: unknown) => {
        // already gone is what we wanted
        if ((e as { name?: string }).name === 'InvalidInstanceID.NotFound') return;
        rethrowTransient(e);
      });
    },
  };
}
