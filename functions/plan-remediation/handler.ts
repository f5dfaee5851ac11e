import * as z from '../shared/zod';
import { summarizeNodeOutcomes } from '../shared/domain/remediation';
import { clusterName, instanceId, memberFailure, memberStatus } from '../shared/domain/schemas';
import { createHandler } from '../shared/handler';
import { nodeOutcome } from './node-outcome';
import { planRemediation } from './service';

const statuses = z
  .array(z.union([memberFailure, memberStatus]))
  .min(1, 'needs the status of at least one member');

export const input = z.union([
  z.object({ cluster: clusterName, step: z.literal('defrag'), statuses }),
  z.object({
    cluster: clusterName,
    step: z.literal('restart'),
    statuses,
    /** the execution's input: the member or instance the alarm names, if any */
    alarm: z
      .object({ instanceId: z.string().min(1).optional(), member: z.string().min(1).optional() })
      .optional(),
  }),
  z.object({ cluster: clusterName, step: z.literal('check-restart'), statuses, target: instanceId }),
  z.object({
    cluster: clusterName,
    step: z.literal('node-outcomes'),
    /** node-notready: how each node's branch ended */
    outcomes: z.array(nodeOutcome).min(1, 'needs the outcome of at least one node'),
  }),
]);

/** pure: the decisions are the domain's, the handler only parses */
export const makeHandler = () =>
  createHandler(
    {
      name: 'plan-remediation',
      input,
      run: async (i: z.output<typeof input>) =>
        // node-notready: the nodes' outcomes, success or the rule that needs a person
        i.step === 'node-outcomes'
          ? summarizeNodeOutcomes(i.outcomes)
          : planRemediation(
              i.step === 'restart' ? { ...i, named: i.alarm?.instanceId ?? i.alarm?.member } : i,
            ),
    },
    {},
  );

export const handler = makeHandler();
