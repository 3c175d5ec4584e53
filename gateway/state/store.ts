/**
 * @module state/store
 * The one contract for the state the gateway owns for the Responses API (issue 12): stored responses
 * (the Response object, the input items it was asked with, and the history it continued) and
 * conversations (metadata plus items in order). Two implementations follow it: SQLite for one replica
 * (sqlite-store.ts) and Redis for several (redis-store.ts); one contract suite tests both.
 *
 * Rules every implementation keeps:
 * - Every object has an owner (the API key's name). Another owner gets `undefined`/`false`, exactly as
 *   for an id that never existed, so a caller cannot probe for other keys' ids.
 * - Every object has an end: `expires_at` (config.state.responsesTtlS after the last write; a
 *   conversation's clock restarts on every write to it). Expired objects read as missing and are purged.
 * - The store is bounded (config.state.maxBytes of stored JSON). A write that would pass the bound
 *   throws StoreFullError; the routes answer it with 507 `store_full` (RFC 4918 11.5 "Insufficient
 *   Storage": the request was fine, the server cannot keep it; a 503 would invite a retry that fails the
 *   same way until entries expire). Nothing is evicted to make room: a stored response is a promise.
 * - Contents are never logged: errors name ids and sizes, never items or metadata.
 */

/** A Responses item as stored (message, function_call, function_call_output…): JSON with an `id`. */
export type StoredItem = { id: string; type: string } & Record<string, unknown>;

export interface StoredResponse {
  id: string;
  owner: string;
  /** Unix seconds. */
  created_at: number;
  /** Unix seconds. */
  expires_at: number;
  /** The Response object as the client got it (JSON). */
  response: Record<string, unknown>;
  /** This request's own input items, with ids (GET /v1/responses/{id}/input_items). */
  input_items: StoredItem[];
  /**
   * The items the model saw before `input_items` (from previous_response_id), without instructions, so
   * a later previous_response_id continues the whole chain even after older links expire.
   */
  history_items: StoredItem[];
}

export interface NewResponse {
  id: string;
  response: Record<string, unknown>;
  input_items: StoredItem[];
  history_items: StoredItem[];
}

export interface Conversation {
  id: string;
  object: 'conversation';
  /** Unix seconds. */
  created_at: number;
  metadata: Record<string, string>;
}

export type ListOrder = 'asc' | 'desc';

export interface ListOptions {
  /** An item id: list the items after it in `order`. An unknown id gives an empty page. */
  after?: string | undefined;
  /** 1..100, default 20. */
  limit?: number | undefined;
  /** Default 'desc' (newest first), as OpenAI. */
  order?: ListOrder | undefined;
}

export interface ItemPage {
  data: StoredItem[];
  has_more: boolean;
}

export interface StateStore {
  /** Stores a response; throws StoreFullError when the store is full. */
  putResponse(owner: string, value: NewResponse): Promise<void>;
  getResponse(owner: string, id: string): Promise<StoredResponse | undefined>;
  deleteResponse(owner: string, id: string): Promise<boolean>;
  /** Items of this owner's stored responses (input and output) by id, for `item_reference`; unknown ids are absent. */
  getItems(owner: string, ids: readonly string[]): Promise<Map<string, StoredItem>>;

  /** Creates a conversation with a fresh `conv_…` id; throws StoreFullError when full. */
  createConversation(owner: string, metadata: Record<string, string>, items: readonly StoredItem[]): Promise<Conversation>;
  getConversation(owner: string, id: string): Promise<Conversation | undefined>;
  updateConversation(owner: string, id: string, metadata: Record<string, string>): Promise<Conversation | undefined>;
  deleteConversation(owner: string, id: string): Promise<boolean>;
  /** Appends items (they carry their ids) in order; undefined when the conversation is missing. */
  appendItems(owner: string, conversationId: string, items: readonly StoredItem[]): Promise<StoredItem[] | undefined>;
  listItems(owner: string, conversationId: string, options?: ListOptions): Promise<ItemPage | undefined>;
  /** Every item in order (oldest first), for the model's history. */
  allItems(owner: string, conversationId: string): Promise<StoredItem[] | undefined>;
  getItem(owner: string, conversationId: string, itemId: string): Promise<StoredItem | undefined>;
  /** True when the item was there and is now gone. */
  deleteItem(owner: string, conversationId: string, itemId: string): Promise<boolean>;

  close(): Promise<void>;
}

/** The store is at config.state.maxBytes. The message names sizes only. */
export class StoreFullError extends Error {
  override readonly name = 'StoreFullError';
  constructor(readonly neededBytes: number, readonly maxBytes: number) {
    super(`The state store is full (${maxBytes} bytes); a write of ${neededBytes} bytes was refused.`);
  }
}

export interface StoreOptions {
  ttlS: number;
  maxBytes: number;
  /** Clock in ms, for tests. */
  now?: () => number;
}

export const DEFAULT_LIST_LIMIT = 20;
export const MAX_LIST_LIMIT = 100;

/** The byte size a value is charged for: its JSON in UTF-8. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), 'utf8');
}

export function clampLimit(limit: number | undefined): number {
  if (limit === undefined || !Number.isFinite(limit)) return DEFAULT_LIST_LIMIT;
  return Math.min(MAX_LIST_LIMIT, Math.max(1, Math.trunc(limit)));
}
