/**
 * @module routes/responses-store
 * The stored-response routes of the Responses API (SDK: client.responses.retrieve / delete /
 * inputItems.list); `POST /v1/responses` itself goes through the inference pipeline.
 *   GET    /v1/responses/:id               the stored Response
 *   DELETE /v1/responses/:id               → {id, object:'response.deleted', deleted:true} (as OpenAI; the SDK types it void)
 *   GET    /v1/responses/:id/input_items   its input items, a cursor list (order desc by default)
 * Only the owner (the API key that created it) sees a response; others get the same 404 as for a missing id.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.js';
import { invalidRequest } from '../errors.js';
import type { StateStore } from '../state/store.js';
import { pageOf, parseListQuery } from '../surfaces/responses/listing.js';
import { stateError } from '../surfaces/responses/persist.js';
import { notFound } from './conversations.js';

export const RESPONSE_STORE_PATHS: Record<string, string[]> = {
  '/v1/responses/:id': ['GET', 'DELETE'],
  '/v1/responses/:id/input_items': ['GET'],
};

async function state<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw stateError(err);
  }
}

export function responseStoreRoutes(store: StateStore): Hono<AppEnv> {
  const app = new Hono<AppEnv>();

  app.get('/v1/responses/:id', async function getResponse(c) {
    // Replaying a finished stream (`?stream=true`, background mode's resume) is not kept.
    if (c.req.query('stream') === 'true') throw invalidRequest('stream is not supported when retrieving a response', 'stream', 'unsupported_parameter');
    const stored = await state(store.getResponse(c.get('principal').name, c.req.param('id')));
    if (!stored) throw notFound('Response', c.req.param('id'));
    return c.json(stored.response);
  });

  app.delete('/v1/responses/:id', async function deleteResponse(c) {
    const id = c.req.param('id');
    if (!(await state(store.deleteResponse(c.get('principal').name, id)))) throw notFound('Response', id);
    return c.json({ id, object: 'response.deleted', deleted: true });
  });

  app.get('/v1/responses/:id/input_items', async function listInputItems(c) {
    const query = parseListQuery(c.req.query());
    const stored = await state(store.getResponse(c.get('principal').name, c.req.param('id')));
    if (!stored) throw notFound('Response', c.req.param('id'));
    return c.json(pageOf(stored.input_items, query));
  });

  return app;
}
