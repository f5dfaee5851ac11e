import * as z from '../shared/zod';
import { ec2ScratchFleet } from '../shared/adapters/aws/ec2-scratch-fleet';
import { createHandler, logger, type DepsSource } from '../shared/handler';
import type { Clock, ScratchFleet } from '../shared/ports';
import { reapScratch } from '../terminate-scratch/service';

/** a scheduled event; its content does not matter */
export const input = z.unknown();

export const makeHandler = (deps: DepsSource<{ fleet: ScratchFleet; clock: Clock }>) =>
  createHandler(
    {
      name: 'reap-scratch',
      input,
      run: async (_event: unknown, d: { fleet: ScratchFleet; clock: Clock }) => {
        const out = await reapScratch(d);
        if (out.terminated.length > 0) logger.warn('terminated expired scratch instances', out);
        return out;
      },
    },
    deps,
  );

export const handler = makeHandler(() => ({ fleet: ec2ScratchFleet(), clock: { now: () => new Date() } }));
