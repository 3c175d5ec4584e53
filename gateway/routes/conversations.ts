/**
 * @module routes/conversations
 * The Conversations API (SDK: client.conversations.* and .items.*), over the gateway's own state store:
 *   POST   /v1/conversations                       create (optional `items`, `metadata`)
 *   GET    /v1/conversations/:id                   retrieve
 *   POST   /v1/conversations/:id                   update metadata
 *   DELETE /v1/conversations/:id                   → {id, object:'conversation.deleted', deleted:true}
 *   GET    /v1/conversations/:id/items             list (order desc by default, after, limit)
 *   POST   /v1/conversations/:id/items             add items → a list of the created items
 *   GET    /v1/conversations/:id/items/:item_id    retrieve an item
 *   DELETE /v1/conversations/:id/items/:item_id    delete an item → the conversation
 * Every object belongs to the API key that created it (`c.get('principal').name`); another key gets the
 * same 404 as for an id that does not exist. Bodies are read with the gateway's size limit.
 */
import { Hono, type Context } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.js';
import { GatewayError } from '../errors.js';
import { checkJsonContentType, readJsonBody } from '../proxy/read-body.js';
import { PARSE_PARAMS, toInvalidRequest } from '../schemas/issues.js';
import { requireObject } from '../schemas/parsed-request.js';
import type { StateStore } from '../state/store.js';
import { normaliseInput } from '../surfaces/responses/input.js';
import { itemList, parseListQuery } from '../surfaces/responses/listing.js';
import { stateError } from '../surfaces/responses/persist.js';
import { metadataSchema } from '../surfaces/responses/schema.js';

export interface ConversationRouteOptions {
  /** MAX_BODY_BYTES. */
  maxBodyBytes: number;
}

/** Paths and methods, for the app's 405 answers and its auth middleware (AppParts.extraRoutes). */
export const CONVERSATION_PATHS: Record<string, string[]> = {
  '/v1/conversations': ['POST'],
  '/v1/conversations/:id': ['GET', 'POST', 'DELETE'],
  '/v1/conversations/:id/items': ['GET', 'POST'],
  '/v1/conversations/:id/items/:item_id': ['GET', 'DELETE'],
};

/** OpenAI allows 20 items per create call. */
const MAX_ITEMS_PER_CALL = 20;

const createBody = z.strictObject({
  items: z.array(z.unknown()).max(MAX_ITEMS_PER_CALL).nullish(),
  metadata: metadataSchema,
});
const updateBody = z.strictObject({ metadata: metadataSchema });
const addItemsBody = z.strictObject({ items: z.array(z.unknown()).min(1).max(MAX_ITEMS_PER_CALL) });

export function notFound(what: 'Conversation' | 'Item' | 'Response', id: string): GatewayError {
  return new GatewayError(404, `${what} with id '${id.slice(0, 80)}' not found.`, { type: 'invalid_request_error', code: 'not_found' });
}

async function body<T>(c: Context<AppEnv>, schema: z.ZodType<T>, limit: number): Promise<T> {
  checkJsonContentType(c.req.header('content-type'));
  const parsed = schema.safeParse(requireObject(await readJsonBody(c.env.incoming, limit)), PARSE_PARAMS);
  if (!parsed.success) throw toInvalidRequest(parsed.error.issues);
  return parsed.data;
}

/** Runs a store call; its failures become 507/503 (persist.ts), GatewayErrors pass. */
async function state<T>(call: Promise<T>): Promise<T> {
  try {
    return await call;
  } catch (err) {
    throw stateError(err);
  }
}

export function conversationRoutes(store: StateStore, options: ConversationRouteOptions): Hono<AppEnv> {
  const app = new Hono<AppEnv>();
  const owner = (c: Context<AppEnv>) => c.get('principal').name;

  app.post('/v1/conversations', async function createConversation(c) {
    const b = await body(c, createBody, options.maxBodyBytes);
    const items = await state(normaliseInput(b.items ?? [], store, owner(c), 'items'));
    return c.json(await state(store.createConversation(owner(c), b.metadata ?? {}, items)));
  });

  app.get('/v1/conversations/:id', async function getConversation(c) {
    const conv = await state(store.getConversation(owner(c), c.req.param('id')));
    if (!conv) throw notFound('Conversation', c.req.param('id'));
    return c.json(conv);
  });

  app.post('/v1/conversations/:id', async function updateConversation(c) {
    const b = await body(c, updateBody, options.maxBodyBytes);
    const conv = await state(store.updateConversation(owner(c), c.req.param('id'), b.metadata ?? {}));
    if (!conv) throw notFound('Conversation', c.req.param('id'));
    return c.json(conv);
  });

  app.delete('/v1/conversations/:id', async function deleteConversation(c) {
    const id = c.req.param('id');
    if (!(await state(store.deleteConversation(owner(c), id)))) throw notFound('Conversation', id);
    return c.json({ id, object: 'conversation.deleted', deleted: true });
  });

  app.get('/v1/conversations/:id/items', async function listItems(c) {
    const query = parseListQuery(c.req.query());
    const page = await state(store.listItems(owner(c), c.req.param('id'), query));
    if (!page) throw notFound('Conversation', c.req.param('id'));
    return c.json(itemList(page.data, page.has_more));
  });

  app.post('/v1/conversations/:id/items', async function addItems(c) {
    const b = await body(c, addItemsBody, options.maxBodyBytes);
    const items = await state(normaliseInput(b.items, store, owner(c), 'items'));
    const added = await state(store.appendItems(owner(c), c.req.param('id'), items));
    if (!added) throw notFound('Conversation', c.req.param('id'));
    return c.json(itemList(added, false));
  });

  app.get('/v1/conversations/:id/items/:item_id', async function getItem(c) {
    const item = await state(store.getItem(owner(c), c.req.param('id'), c.req.param('item_id')));
    if (!item) throw notFound('Item', c.req.param('item_id'));
    return c.json(item);
  });

  app.delete('/v1/conversations/:id/items/:item_id', async function deleteItem(c) {
    const id = c.req.param('id');
    if (!(await state(store.deleteItem(owner(c), id, c.req.param('item_id'))))) {
      if (!(await state(store.getConversation(owner(c), id)))) throw notFound('Conversation', id);
      throw notFound('Item', c.req.param('item_id'));
    }
    const conv = await state(store.getConversation(owner(c), id));
    if (!conv) throw notFound('Conversation', id);
    return c.json(conv);
  });

  return app;
}
