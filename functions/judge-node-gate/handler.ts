import * as z from '../shared/zod';
import { controlPlaneCheckResult, releaseVersion } from '../shared/domain/commands/control-plane-schemas';
import { clusterName } from '../shared/domain/schemas';
import { judgeGateCheck } from '../shared/domain/upgrade-gates';
import { createHandler } from '../shared/handler';

// version: the gate after a node checks the kubelet and static pods against it (empty: no version, an OS patch)
export const input = z.object({
  cluster: clusterName,
  phase: z.enum(['before', 'after']),
  version: releaseVersion.or(z.literal('')).optional(),
  check: controlPlaneCheckResult,
  // checks: how many checks came before this one (the state machine counts them)
  checks: z.number().int().min(0).optional(),
});

/** pure: the verdict is the domain's (upgrade-gates.ts), the handler only parses */
export const makeHandler = () =>
  createHandler(
    {
      name: 'judge-node-gate',
      input,
      run: async (i: z.output<typeof input>) => judgeGateCheck(i),
    },
    {},
  );

export const handler = makeHandler();
