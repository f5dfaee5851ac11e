import * as z from '../shared/zod';
import { controlPlaneCheckResult, releaseVersion } from '../shared/domain/commands/control-plane-schemas';
import { clusterName } from '../shared/domain/schemas';
import { judgeGate } from '../shared/domain/upgrade-gates';
import { createHandler } from '../shared/handler';

// version: the gate after a node checks the kubelet and static pods against it
export const input = z.object({
  cluster: clusterName,
  phase: z.enum(['before', 'after']),
  version: releaseVersion.optional(),
  check: controlPlaneCheckResult,
});

/** pure: the verdict is the domain's (upgrade-gates.ts), the handler only parses */
export const makeHandler = () =>
  createHandler(
    {
      name: 'judge-node-gate',
      input,
      run: async (i: z.output<typeof input>) => judgeGate(i.phase, i.check, i.version),
    },
    {},
  );

export const handler = makeHandler();
