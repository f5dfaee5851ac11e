import * as z from '../shared/zod';
import { pickMember } from '../shared/domain/member-selection';
import { clusterName, memberFailure, memberStatus } from '../shared/domain/schemas';
import { createHandler } from '../shared/handler';

export const input = z.object({
  cluster: clusterName,
  statuses: z.array(z.union([memberFailure, memberStatus])),
});

/** pure: the choice is the domain's, the handler only parses */
export const makeHandler = () =>
  createHandler(
    { name: 'pick-member', input, run: async (i: z.output<typeof input>) => pickMember(i.statuses) },
    {},
  );

export const handler = makeHandler();
