import * as z from '../shared/zod';
import { clusterName, instanceId, memberFailure, memberStatus } from '../shared/domain/schemas';
import { createHandler } from '../shared/handler';
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
]);

/** pure: the decisions are the domain's, the handler only parses */
export const makeHandler = () =>
  createHandler(
    {
      name: 'plan-remediation',
      input,
      run: async (i: z.output<typeof input>) =>
        planRemediation(i.step === 'restart' ? { ...i, named: i.alarm?.instanceId ?? i.alarm?.member } : i),
    },
    {},
  );

export const handler = makeHandler();
