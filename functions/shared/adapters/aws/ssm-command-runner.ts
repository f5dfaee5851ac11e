import {
  GetCommandInvocationCommand,
  InvocationDoesNotExist,
  paginateListCommands,
  SendCommandCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import type { CommandRunner, InvocationStatus } from '../../ports';
import { rethrowTransient } from './transient';

/**
 * SSM Run Command with our own documents only; the document name comes from the deployment.
 * `documentVersions` (deployed name → version, DOCUMENT_VERSIONS) pins each document to the
 * version the stack wrote, so a version made outside the stack never runs; given a map, a
 * document missing from it is refused rather than sent at whatever version is the default.
 */
export function ssmCommandRunner(
  client = new SSMClient({}),
  documentVersions?: Readonly<Record<string, string>>,
): CommandRunner {
  return {
    async send(req) {
      const version = documentVersions?.[req.documentName];
      if (documentVersions && !version) {
        throw new Error(`no pinned version of SSM document ${req.documentName} in DOCUMENT_VERSIONS`);
      }
      const out = await client
        .send(
          new SendCommandCommand({
            DocumentName: req.documentName,
            ...(version && { DocumentVersion: version }),
            InstanceIds: [req.instanceId],
            Parameters: Object.fromEntries(Object.entries(req.parameters).map(([k, v]) => [k, [v]])),
            TimeoutSeconds: Math.max(30, Math.min(req.deliveryTimeoutSeconds, 2_592_000)),
            Comment: req.comment.slice(0, 100),
          }),
        )
        .catch(rethrowTransient);
      const commandId = out.Command?.CommandId;
      if (!commandId) throw new Error(`SendCommand returned no CommandId for ${req.instanceId}`);
      return { commandId };
    },

    async findSent(instanceId, marker, since) {
      try {
        const pages = paginateListCommands(
          { client },
          { InstanceId: instanceId, Filters: [{ key: 'InvokedAfter', value: since.toISOString() }] },
        );
        for await (const page of pages) {
          const hit = (page.Commands ?? []).find((c) => c.CommandId && c.Comment?.includes(marker));
          if (hit?.CommandId) return { commandId: hit.CommandId };
        }
        return undefined;
      } catch (e) {
        return rethrowTransient(e);
      }
    },

    async getInvocation(commandId, instanceId) {
      try {
        const out = await client.send(
          new GetCommandInvocationCommand({ CommandId: commandId, InstanceId: instanceId }),
        );
        return {
          status: (out.Status ?? 'Pending') as InvocationStatus,
          exitCode: out.ResponseCode ?? -1,
          stdout: out.StandardOutputContent ?? '',
          stderr: out.StandardErrorContent ?? '',
        };
      } catch (e) {
        if (e instanceof InvocationDoesNotExist) return undefined;
        return rethrowTransient(e);
      }
    },
  };
}
