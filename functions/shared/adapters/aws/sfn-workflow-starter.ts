import { ExecutionAlreadyExists, SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import { rethrowTransient } from './transient';

export interface WorkflowStarter {
  /** starts, or reports the existing execution of the same name as a duplicate */
  start(
    stateMachineArn: string,
    name: string,
    input: unknown,
  ): Promise<{ executionArn: string; duplicate: boolean }>;
}

export function sfnWorkflowStarter(client = new SFNClient({})): WorkflowStarter {
  return {
    async start(stateMachineArn, name, input) {
      try {
        const out = await client.send(
          new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
        );
        return { executionArn: out.executionArn ?? '', duplicate: false };
      } catch (e) {
        if (e instanceof ExecutionAlreadyExists) {
          const executionArn = stateMachineArn.replace(':stateMachine:', ':execution:') + `:${name}`;
          return { executionArn, duplicate: true };
        }
        return rethrowTransient(e);
      }
    },
  };
}
