/**
 * What a workflow is, described once: its ASL file, the functions its `${Substitutions}` name,
 * the execution input it accepts, its block in caretaker.config.json with the defaults, when
 * it is scheduled, what its outcome message says after a failure, and its CLI verb. Infra, the
 * sandbox, the CLI, start-workflow, publish-outcome and docs/contracts.md read it from here.
 *
 * No AWS, CDK or handler imports: start-workflow and publish-outcome bundle this module.
 */
import type { ZodType } from '../zod';
import * as z from '../zod';
import type { ClusterKind } from '../domain/config';
import { clusterName } from '../domain/schemas';

/** who asked, as the trigger names itself: `schedule`, `cli`, `slack:U024BE7LH` */
export const requestedBy = z
  .string()
  .regex(/^[A-Za-z0-9@._:+-]{1,64}$/, 'must be 1-64 letters, digits or @ . _ : + -');

/** the trigger's own id (a Slack request, an API call); part of the execution name */
export const requestId = z.string().regex(/^[A-Za-z0-9._-]{1,64}$/, 'must be 1-64 letters, digits or . _ -');

/** the fields every workflow's execution input has; a workflow adds its own with `.extend` */
export const baseInput = z
  .object({ cluster: clusterName, requestedBy: requestedBy.optional(), requestId: requestId.optional() })
  .strict();

/** the zod pieces config.ts owns (schedule and time-zone rules), handed to each config block */
export interface ConfigFields {
  schedule: ZodType<string, string>;
  timeZone: ZodType<string, string>;
  /** a whole number from 0 to max */
  count: (max: number) => ZodType<number, number>;
}

/** what a config block's resolve sees of its cluster */
export interface ResolveContext {
  name: string;
  kind: ClusterKind;
  /** the cluster's whole block as parsed (other workflows' blocks included, for shared defaults) */
  raw: Readonly<Record<string, unknown>>;
  /** `clusters[0] (prod-eu)`: prefix for problems */
  at: string;
  /** push one line per problem, naming the field: `${at}.backup.enabled: …` */
  problems: string[];
}

/** the workflow's block in a cluster of caretaker.config.json */
export interface ConfigBlock<Key extends string, Shape extends ZodType, Settings> {
  /** the field name in the cluster: `backup`, `restoreVerify` */
  key: Key;
  /** the block as users write it; config.ts makes it optional */
  schema: (fields: ConfigFields) => Shape;
  /** the block with every default filled in; undefined = the workflow is off for this cluster */
  resolve: (block: z.output<Shape> | undefined, cluster: ResolveContext) => Settings;
}

/** a CLI flag that sets one field of the execution input */
export interface CliOption {
  field: string;
  type: 'string' | 'boolean';
  /** `KEY` in `--key KEY` */
  value?: string;
  description: string;
}

export interface WorkflowDefinition<
  Name extends string = string,
  Input extends ZodType = ZodType,
  Key extends string = string,
  Shape extends ZodType = ZodType,
  Settings = unknown,
> {
  /** file name, execution-name prefix, the lock's `operation`, the metric dimension */
  name: Name;
  /** one line: what it does, for docs and the state machine's comment */
  summary: string;
  /** why it exists, in the state machine's Comment */
  comment: string;
  /** works on etcd itself: not for EKS, where AWS runs etcd */
  needsEtcd: boolean;
  /** runs only on clusters of these kinds (the EKS workflows: `['eks']`); absent = any kind */
  onlyFor?: readonly ClusterKind[];
  /** every `${Name}` the ASL file uses → the function (functions/<name>/) or workflow it stands for */
  substitutions: Readonly<Record<string, string>>;
  /** the execution input; start-workflow and the CLI parse with it before starting anything */
  input: Input;
  config: ConfigBlock<Key, Shape, Settings>;
  /** when the cluster's schedule starts it; undefined = not scheduled for this cluster */
  schedule: (settings: Settings) => { expression: string; timeZone: string } | undefined;
  /** deployed in a region only when this holds for its clusters' settings (default: always) */
  deployedFor?: (settings: readonly Settings[]) => boolean;
  /** what the outcome message adds after a failure: what was undone, what is left */
  outcome: { afterFailure: string };
  cli?: { verb: string; summary: string; options?: Readonly<Record<string, CliOption>> };
  /**
   * the ASL file this workflow runs when it shares another's (patch-control-plane runs
   * upgrade-control-plane's, its input choosing the node action); absent = its own name
   */
  definition?: string;
}

/** keeps the literal types of a definition (its name, config key, settings) */
export function defineWorkflow<
  const Name extends string,
  Input extends ZodType,
  const Key extends string,
  Shape extends ZodType,
  Settings,
>(
  definition: WorkflowDefinition<Name, Input, Key, Shape, Settings>,
): WorkflowDefinition<Name, Input, Key, Shape, Settings> {
  return definition;
}

/** `etcd-backup` → `EtcdBackup`: construct ids, stack outputs, substitutions */
export function pascalCase(name: string): string {
  return name
    .split('-')
    .map((part) => part.charAt(0).toUpperCase() + part.slice(1))
    .join('');
}

/** the substitution a parent's ASL uses to start this workflow as a nested execution */
export function stateMachineSubstitution(workflow: string): string {
  return `${pascalCase(workflow)}StateMachineArn`;
}

/** the state machine's ARN output of a `Caretaker-<region>` stack */
export const stackOutput = stateMachineSubstitution;

/** the name of the ASL file a workflow runs: its `definition`, else its own name */
export function definitionName(workflow: { name: string; definition?: string }): string {
  return workflow.definition ?? workflow.name;
}

/** state-machines/<name>.asl.json, relative to the repository root */
export function definitionFile(workflow: string): string {
  return `state-machines/${workflow}.asl.json`;
}
