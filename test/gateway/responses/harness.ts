/**
 * A small gateway for the Responses tests: the Responses modules wired the way the pipeline is meant to
 * wire them (prepare → vLLM chat → translate → persist), the conversation and stored-response routes,
 * over a real socket in front of the in-process simulator. The principal is the bearer token itself, so
 * two keys are two owners.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { getRequestListener } from '@hono/node-server';
import { RESPONSE_ALREADY_SENT } from '@hono/node-server/utils/response';
import { Hono } from 'hono';
import type { AppEnv } from '../../../gateway/app-env.js';
import { GatewayError } from '../../../gateway/errors.js';
import { readJsonBody } from '../../../gateway/proxy/read-body.js';
import { conversationRoutes } from '../../../gateway/routes/conversations.js';
import { responseStoreRoutes } from '../../../gateway/routes/responses-store.js';
import type { StateStore } from '../../../gateway/state/store.js';
import { persistResponse } from '../../../gateway/surfaces/responses/persist.js';
import { prepareResponsesRequest } from '../../../gateway/surfaces/responses/request.js';
import { responseFromChatCompletion } from '../../../gateway/surfaces/responses/response.js';
import { ResponsesStreamTranslator } from '../../../gateway/surfaces/responses/stream.js';

export interface Harness {
  url: string;
  /** Chat bodies sent to vLLM, in order. */
  chatBodies: Array<Record<string, unknown>>;
  /** Responses request bodies as clients sent them. */
  requests: Array<Record<string, unknown>>;
  close(): Promise<void>;
}

export async function startHarness(store: StateStore, vllmUrl: string): Promise<Harness> {
  const chatBodies: Array<Record<string, unknown>> = [];
  const requests: Array<Record<string, unknown>> = [];
  const app = new Hono<AppEnv>();
  app.use('*', async (c, next) => {
    const key = c.req.header('authorization')?.replace(/^Bearer /, '') ?? 'anonymous';
    c.set('principal', { name: key });
    await next();
  });

  app.post('/v1/responses', async (c) => {
    const owner = c.get('principal').name;
    const json = await readJsonBody(c.env.incoming, 1 << 20);
    requests.push(json as Record<string, unknown>);
    const prepared = await prepareResponsesRequest(json, { store, owner, defaultModel: 'qwen2.5-7b-instruct', contextLength: 16_384 });
    const body = { model: 'qwen2.5-7b-instruct', ...prepared.chat.body };
    chatBodies.push(body);
    const upstream = await fetch(`${vllmUrl}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (!upstream.ok) return c.json(await upstream.json(), upstream.status as 400);
    if (!prepared.chat.stream) {
      const response = responseFromChatCompletion(prepared.shell, await upstream.json());
      await persistResponse(prepared, response, store, owner);
      return c.json(response);
    }
    const res = c.env.outgoing;
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    const translator = new ResponsesStreamTranslator(prepared.shell);
    res.write(translator.start());
    try {
      for await (const chunk of upstream.body!) {
        const text = translator.push(Buffer.from(chunk as Uint8Array));
        if (text) res.write(text);
      }
      res.write(translator.end());
    } catch {
      res.write(translator.fail({ code: 'upstream_reset', message: 'The connection to the model server was lost.' }));
    }
    await persistResponse(prepared, translator.response, store, owner).catch(() => undefined);
    res.end();
    return RESPONSE_ALREADY_SENT;
  });

  app.route('/', responseStoreRoutes(store));
  app.route('/', conversationRoutes(store, { maxBodyBytes: 1 << 20 }));
  app.onError((err, c) => {
    if (err instanceof GatewayError) return c.body(JSON.stringify(err.toJSON()), err.status as 400, { 'content-type': 'application/json', ...err.headers });
    return c.json({ error: { message: String(err), type: 'server_error', param: null, code: null } }, 500);
  });

  const server: Server = createServer(getRequestListener(app.fetch, { overrideGlobalObjects: false }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    chatBodies,
    requests,
    close: () => new Promise((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
