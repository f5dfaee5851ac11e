/**
 * A stand-in for the Slack Web API on 127.0.0.1 (Slack itself cannot run here): the official
 * client (@slack/web-api) is pointed at it with `slackApiUrl`, and it records every call
 * (method, parameters, the bearer token) so tests assert the exact invocation. It answers as
 * Slack does for the methods Caretaker uses, and can be told to fail.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SlackCall {
  method: string;
  params: Record<string, unknown>;
  token?: string;
}

export interface SlackStandIn {
  /** `http://127.0.0.1:<port>/api/`: the client's slackApiUrl */
  url: string;
  calls: SlackCall[];
  callsTo(method: string): SlackCall[];
  /** user group id → its members (usergroups.users.list) */
  groups: Record<string, string[]>;
  /** the next `times` calls of `method` (or of any method, '*') answer HTTP `status` / `{ok:false}` */
  fail(method: string, times: number, how?: { status?: number; error?: string }): void;
  stop(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** the client sends form bodies with JSON-encoded nested values (blocks), or JSON */
function parseParams(body: string, type: string | undefined): Record<string, unknown> {
  if (type?.includes('application/json')) return JSON.parse(body || '{}') as Record<string, unknown>;
  const params: Record<string, unknown> = {};
  for (const [k, v] of new URLSearchParams(body)) {
    params[k] = /^[[{]/.test(v) ? (JSON.parse(v) as unknown) : v;
  }
  return params;
}

export async function startSlackStandIn(): Promise<SlackStandIn> {
  const calls: SlackCall[] = [];
  const failures: { method: string; left: number; status: number; error: string }[] = [];
  const groups: Record<string, string[]> = {};
  let ts = 1_700_000_000;

  const server: Server = createServer((req, res) => {
    void (async () => {
      const method = (req.url ?? '').replace(/^\/api\//, '').split('?')[0]!;
      const params = parseParams(await readBody(req), req.headers['content-type']);
      const token = req.headers.authorization?.replace(/^Bearer /, '');
      calls.push({ method, params, ...(token && { token }) });
      const failure = failures.find((f) => f.left > 0 && (f.method === method || f.method === '*'));
      if (failure) {
        failure.left--;
        if (failure.status !== 200) {
          res.writeHead(failure.status, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ ok: false, error: failure.error }));
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ ok: false, error: failure.error }));
        return;
      }
      let answer: Record<string, unknown> = { ok: true };
      if (method === 'chat.postMessage') {
        answer = { ok: true, channel: params.channel, ts: `${++ts}.000100`, message: { text: params.text } };
      } else if (method === 'chat.update') {
        answer = { ok: true, channel: params.channel, ts: params.ts };
      } else if (method === 'chat.postEphemeral') {
        answer = { ok: true, message_ts: `${++ts}.000200` };
      } else if (method === 'usergroups.users.list') {
        const users = groups[String(params.usergroup)];
        answer = users ? { ok: true, users } : { ok: false, error: 'no_such_subteam' };
      } else if (method === 'auth.test') {
        answer = { ok: true, team_id: 'T0CARETAKER', user_id: 'U0CARETAKER' };
      } else {
        answer = { ok: false, error: 'unknown_method' };
      }
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(answer));
    })();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/api/`,
    calls,
    callsTo: (method) => calls.filter((c) => c.method === method),
    groups,
    fail(method, times, how = {}) {
      failures.push({ method, left: times, status: how.status ?? 200, error: how.error ?? 'fatal_error' });
    },
    stop: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((e) => (e ? reject(e) : resolve()));
      }),
  };
}
