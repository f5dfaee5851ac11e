import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import {
  WORKFLOWS,
  definitionFile,
  definitionName,
  pascalCase,
  type Workflow,
} from '../functions/shared/workflows';
import {
  CaretakerFunction,
  type FunctionName,
  type SharedEnvironment,
} from './constructs/caretaker-function';
import { workflowStateMachine } from './constructs/workflow-state-machine';

/**
 * The functions a registry workflow's `${Substitutions}` name, looked up by function name.
 * @throws Error naming the workflow, the substitution and the function nobody built
 */
export function registryTasks(
  workflow: Workflow,
  functions: Readonly<Record<string, CaretakerFunction>>,
): Record<string, CaretakerFunction> {
  return Object.fromEntries(
    Object.entries<string>(workflow.substitutions)
      // a substitution that names a workflow is its state machine (a nested execution), not a function
      .filter(([, name]) => !isWorkflowName(name))
      .map(([substitution, name]) => {
        const fn = Object.hasOwn(functions, name) ? functions[name] : undefined;
        if (!fn)
          throw new Error(
            `${workflow.name}: \${${substitution}} names ${name}, which this stack does not build`,
          );
        return [substitution, fn];
      }),
  );
}

const isWorkflowName = (name: string) => WORKFLOWS.some((w) => w.name === name);

/**
 * The state machines a registry workflow's `${Substitutions}` start as nested executions (those
 * this stack does not deploy aside: registryAbsentNested).
 * @throws Error naming the workflow this stack has not built (yet)
 */
export function registryNested(
  workflow: Workflow,
  stateMachines: Readonly<Record<string, sfn.IStateMachine>>,
): Record<string, sfn.IStateMachine> {
  const absent = registryAbsentNested(workflow, stateMachines);
  return Object.fromEntries(
    Object.entries<string>(workflow.substitutions)
      .filter(([substitution, name]) => isWorkflowName(name) && !Object.hasOwn(absent, substitution))
      .map(([substitution, name]) => {
        const sm = Object.hasOwn(stateMachines, name) ? stateMachines[name] : undefined;
        if (!sm)
          throw new Error(
            `${workflow.name}: \${${substitution}} starts ${name}, which this stack has not built`,
          );
        return [substitution, sm];
      }),
  );
}

/**
 * The nested workflows a registry workflow names that this stack does not deploy: those earlier
 * in the registry than the workflow itself and not built (the stack builds in registry order, so
 * one built later is still an error of registryNested). Substitution → workflow name.
 */
export function registryAbsentNested(
  workflow: Workflow,
  stateMachines: Readonly<Record<string, sfn.IStateMachine>>,
): Record<string, string> {
  const order = WORKFLOWS.map((w) => w.name as string);
  return Object.fromEntries(
    Object.entries<string>(workflow.substitutions).filter(
      ([, name]) =>
        isWorkflowName(name) &&
        !Object.hasOwn(stateMachines, name) &&
        order.indexOf(name) < order.indexOf(workflow.name),
    ),
  );
}

/** a registry workflow's state machine, with its file and comment from the registry */
export function registryStateMachine(
  scope: Construct,
  workflow: Workflow,
  projectRoot: string,
  functions: Readonly<Record<string, CaretakerFunction>>,
  stateMachines: Readonly<Record<string, sfn.IStateMachine>> = {},
): sfn.StateMachine {
  return workflowStateMachine(scope, {
    projectRoot,
    definitionFile: definitionFile(definitionName(workflow)),
    tasks: registryTasks(workflow, functions),
    comment: workflow.comment,
    nested: registryNested(workflow, stateMachines),
    absentNested: registryAbsentNested(workflow, stateMachines),
  });
}

export interface RegisteredWorkflowProps {
  workflow: Workflow;
  projectRoot: string;
  shared: SharedEnvironment;
  /** the workflows built before this one, by name: what its nested executions start */
  stateMachines?: Readonly<Record<string, sfn.IStateMachine>>;
  /** functions other constructs built (with their permissions), by name */
  functions: Readonly<Record<string, CaretakerFunction>>;
}

/**
 * A workflow that needs no construct of its own: its functions that nobody built are built
 * here with no permissions beyond the shared ones, and its state machine from the registry.
 * A workflow whose functions need permissions gets its own construct (etcd-backup-workflow.ts).
 */
export class RegisteredWorkflow extends Construct {
  readonly stateMachine: sfn.StateMachine;
  readonly functions: Record<string, CaretakerFunction> = {};

  constructor(scope: Construct, id: string, props: RegisteredWorkflowProps) {
    super(scope, id);
    const all: Record<string, CaretakerFunction> = { ...props.functions };
    for (const name of Object.values<string>(props.workflow.substitutions)) {
      if (Object.hasOwn(all, name) || isWorkflowName(name)) continue;
      all[name] = this.functions[name] = new CaretakerFunction(this, pascalCase(name), {
        name: name as FunctionName,
        projectRoot: props.projectRoot,
        shared: props.shared,
      });
    }
    this.stateMachine = registryStateMachine(
      this,
      props.workflow,
      props.projectRoot,
      all,
      props.stateMachines,
    );
  }
}
