import * as z from '../../zod';
import { instanceId } from '../schemas';
import { DEFAULT_DELIVERY_TIMEOUT_SECONDS, defineCommand } from './spec';

/** what journalctl --vacuum-size keeps: the journal is cut down to this */
export const JOURNAL_VACUUM_SIZE = '500M';

/**
 * Frees disk on a node under disk pressure: `crictl rmi --prune` (images no container uses) and
 * `journalctl --vacuum-size=<JournalVacuumSize>`. Nothing a running pod needs is removed. The
 * remediate workflow's disk-pressure route sends it to the alarm's instance.
 */
export const nodePrune = defineCommand({
  name: 'node-prune',
  target: 'worker',
  subject: 'self',
  needs: [],
  args: z.object({}).strict(),
  result: z.object({
    instanceId,
    imagesPruned: z.boolean(),
    journalVacuumed: z.boolean(),
    /** free bytes of the filesystem holding /var before and after; null where df could not tell */
    freeBytesBefore: z.number().int().nonnegative().nullable(),
    freeBytesAfter: z.number().int().nonnegative().nullable(),
    /** after − before, never below 0; null when either is unknown */
    bytesFreed: z.number().int().nonnegative().nullable(),
  }),
  executionTimeoutSeconds: 300,
  deliveryTimeoutSeconds: DEFAULT_DELIVERY_TIMEOUT_SECONDS,
  parameters: () => ({ JournalVacuumSize: JOURNAL_VACUUM_SIZE }),
});
