import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import { definitionFile, pascalCase, WORKFLOWS, type Workflow } from '../functions/shared/workflows';
import type * as sfnTypes from 'aws-cdk-lib/aws-stepfunctions';
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
      .filter(([, name]) => !isWorkflow(name))
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

/** a substitution that names a registry workflow (a nested execution), not a function */
function isWorkflow(name: string): boolean {
  return WORKFLOWS.some((w) => w.name === name);
}

/**
 * The state machines a workflow starts as nested executions, by substitution.
 * @throws Error naming a nested workflow this stack does not deploy
 */
export function registryChildren(
  workflow: Workflow,
  stateMachines: Readonly<Record<string, sfnTypes.IStateMachine>>,
): Record<string, sfnTypes.IStateMachine> {
  return Object.fromEntries(
    Object.entries<string>(workflow.substitutions)
      .filter(([, name]) => isWorkflow(name))
      .map(([substitution, name]) => {
        const sm = Object.hasOwn(stateMachines, name) ? stateMachines[name] : undefined;
        if (!sm)
          throw new Error(
            `${workflow.name}: \${${substitution}} names workflow ${name}, which this stack does not deploy (yet)`,
          );
        return [substitution, sm];
      }),
  );
}

/** a registry workflow's state machine, with its file and comment from the registry */
export function registryStateMachine(
  scope: Construct,
  workflow: Workflow,
  projectRoot: string,
  functions: Readonly<Record<string, CaretakerFunction>>,
  stateMachines: Readonly<Record<string, sfnTypes.IStateMachine>> = {},
): sfn.StateMachine {
  return workflowStateMachine(scope, {
    projectRoot,
    definitionFile: definitionFile(workflow.name),
    tasks: registryTasks(workflow, functions),
    children: registryChildren(workflow, stateMachines),
    comment: workflow.comment,
  });
}

export interface RegisteredWorkflowProps {
  workflow: Workflow;
  projectRoot: string;
  shared: SharedEnvironment;
  /** functions other constructs built (with their permissions), by name */
  functions: Readonly<Record<string, CaretakerFunction>>;
  /** the state machines built before this one, for nested executions */
  stateMachines?: Readonly<Record<string, sfnTypes.IStateMachine>>;
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
      if (Object.hasOwn(all, name) || isWorkflow(name)) continue;
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
