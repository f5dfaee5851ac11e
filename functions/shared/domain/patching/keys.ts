import * as z from '../../zod';

/**
 * Where a patch run keeps its objects in the Caretaker bucket: everything under
 * `<cluster>/patching/<execution name>/`, so IAM can grant the patching prefix alone and a run
 * never reads another run's files.
 */
export function patchRunPrefix(cluster: string, executionName: string): string {
  return `${cluster}/patching/${executionName}/`;
}

export const patchKeys = (cluster: string, executionName: string) => {
  const prefix = patchRunPrefix(cluster, executionName);
  return {
    prefix,
    /** the Nodes before the run (node-inventory) */
    before: `${prefix}nodes-before.json`,
    /** the Nodes after the run, for the sweep */
    after: `${prefix}nodes-after.json`,
    /** the Map's items: a JSON array of PlanItem */
    plan: `${prefix}plan.json`,
    /** the whole plan: skipped nodes with reasons, counts */
    planDetail: `${prefix}plan-detail.json`,
    /** one NodeResult per node, written at the end of its item */
    results: `${prefix}nodes/`,
    result: (node: string) => `${prefix}nodes/${node}.json`,
    /** the run's report: every list in full */
    report: `${prefix}report.json`,
  };
};

/** an execution name as Step Functions allows it; the keys above are built from it */
export const executionName = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,80}$/, 'must be an execution name (1-80 letters, digits, - or _)');
