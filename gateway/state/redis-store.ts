/**
 * @module state/redis-store
 * The state store over Redis (REDIS_URL), shared by every replica, so a `previous_response_id` or a
 * conversation works whichever replica the next request reaches.
 *
 * Keys, all under `keyPrefix` and a per-owner namespace (the owner's name in base64url, so no name can
 * reach into another's keys):
 *   r:<owner>:<id>              the stored response (JSON), PEXPIRE ttl
 *   ri:<owner>:<item id>        each input/output item of a stored response, for item_reference, PEXPIRE ttl
 *   c:<owner>:<id>              a conversation's id, created_at and metadata (JSON)
 *   c:<owner>:<id>:z            its item ids in a sorted set scored by a sequence number (order, `after`)
 *   c:<owner>:<id>:h            its items by id (hash);  c:<owner>:<id>:n  the sequence counter
 * A conversation's keys get a fresh PEXPIRE on every write to it (a live conversation does not expire).
 *
 * The size bound: a ledger (sorted set member → expiry ms, hash member → bytes, a counter of the total)
 * charged by one Lua script that first drops expired members, then refuses a write past maxBytes. It
 * counts our JSON bytes, not Redis's memory; set Redis's own maxmemory (noeviction) above it.
 *
 * Timeouts: commands get max(REDIS_TIMEOUT_MS, 1 s). REDIS_TIMEOUT_MS (50 ms by default) is tuned for rate
 * limits, where a late answer is worse than none; a state read carries a whole conversation and is on
 * the one path that needs it, so it gets a second before the request fails with 503. Like the rate-limit
 * store: no offline queue, no replay after reconnect. Single Redis (not Cluster): the scripts touch the
 * ledger and an object's keys together.
 */
import { Redis } from 'ioredis';
import { newId } from './ids.js';
import {
  StoreFullError, clampLimit, jsonBytes, type Conversation, type ItemPage, type ListOptions, type NewResponse, type StateStore,
  type StoreOptions, type StoredItem, type StoredResponse,
} from './store.js';

export interface RedisStateStoreOptions extends StoreOptions {
  url: string;
  timeoutMs: number;
  keyPrefix?: string;
}

/** Drops up to 256 expired ledger members, then charges ARGV[2] bytes to member ARGV[1] unless that passes the bound. */
const CHARGE_LUA = `
local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[4], 'LIMIT', 0, 256)
for _, m in ipairs(expired) do
  redis.call('DECRBY', KEYS[3], tonumber(redis.call('HGET', KEYS[2], m) or '0'))
  redis.call('HDEL', KEYS[2], m)
  redis.call('ZREM', KEYS[1], m)
end
local delta = tonumber(ARGV[2])
local used = tonumber(redis.call('GET', KEYS[3]) or '0')
if delta > 0 and used + delta > tonumber(ARGV[5]) then return 0 end
redis.call('INCRBY', KEYS[3], delta)
redis.call('HINCRBY', KEYS[2], ARGV[1], delta)
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 1
`;

const RELEASE_LUA = `
redis.call('DECRBY', KEYS[3], tonumber(redis.call('HGET', KEYS[2], ARGV[1]) or '0'))
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('ZREM', KEYS[1], ARGV[1])
return 1
`;

interface ScriptCommands {
  gatewayStateCharge(ledger: string, bytes: string, used: string, member: string, delta: string, expiresMs: string, nowMs: string, max: string): Promise<number>;
  gatewayStateRelease(ledger: string, bytes: string, used: string, member: string): Promise<number>;
}

interface ResponseRecord extends Omit<StoredResponse, 'id' | 'owner' | 'created_at' | 'expires_at'> {
  created_ms: number;
  expires_ms: number;
  bytes: number;
}

interface ConversationRecord {
  id: string;
  created_ms: number;
  metadata: Record<string, string>;
}

export class RedisStateStore implements StateStore {
  readonly #client: Redis & ScriptCommands;
  readonly #prefix: string;
  readonly #ttlMs: number;
  readonly #now: () => number;

  constructor(private readonly options: RedisStateStoreOptions) {
    this.#prefix = options.keyPrefix ?? 'vllm-gateway:state:';
    this.#ttlMs = options.ttlS * 1000;
    this.#now = options.now ?? Date.now;
    const timeout = Math.max(options.timeoutMs, 1_000);
    const client = new Redis(options.url, {
      lazyConnect: true,
      enableOfflineQueue: false,
      commandTimeout: timeout,
      connectTimeout: timeout,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      retryStrategy: (times) => Math.min(50 * 2 ** Math.min(times - 1, 10), 1_000),
      connectionName: 'vllm-gateway-state',
    });
    client.defineCommand('gatewayStateCharge', { numberOfKeys: 3, lua: CHARGE_LUA });
    client.defineCommand('gatewayStateRelease', { numberOfKeys: 3, lua: RELEASE_LUA });
    // Errors reach the caller of each command; this listener only keeps ioredis from printing them (and the URL).
    client.on('error', () => undefined);
    this.#client = client as Redis & ScriptCommands;
    client.connect().catch(() => undefined);
  }

  /** Resolves once connected (tests and startup checks; commands fail at once before that). */
  async ready(): Promise<void> {
    if (this.#client.status === 'ready') return;
    await new Promise<void>((resolve) => this.#client.once('ready', () => resolve()));
  }

  #owner(owner: string): string {
    return Buffer.from(owner, 'utf8').toString('base64url');
  }
  #responseKey(owner: string, id: string): string {
    return `${this.#prefix}r:${this.#owner(owner)}:${id}`;
  }
  #itemKey(owner: string, id: string): string {
    return `${this.#prefix}ri:${this.#owner(owner)}:${id}`;
  }
  #convKey(owner: string, id: string): string {
    return `${this.#prefix}c:${this.#owner(owner)}:${id}`;
  }

  async #charge(member: string, delta: number, expiresMs: number): Promise<void> {
    const p = this.#prefix;
    const ok = await this.#client.gatewayStateCharge(
      `${p}ledger`, `${p}ledger:bytes`, `${p}ledger:used`, member, String(delta), String(expiresMs), String(this.#now()), String(this.options.maxBytes),
    );
    if (ok !== 1) throw new StoreFullError(delta, this.options.maxBytes);
  }

  async #release(member: string): Promise<void> {
    const p = this.#prefix;
    await this.#client.gatewayStateRelease(`${p}ledger`, `${p}ledger:bytes`, `${p}ledger:used`, member);
  }

  async putResponse(owner: string, value: NewResponse): Promise<void> {
    const now = this.#now();
    const items = [...value.input_items, ...((value.response.output as StoredItem[] | undefined) ?? [])];
    const record: ResponseRecord = {
      created_ms: now, expires_ms: now + this.#ttlMs, bytes: 0,
      response: value.response, input_items: value.input_items, history_items: value.history_items,
    };
    const key = this.#responseKey(owner, value.id);
    const itemBodies = items.map((item) => JSON.stringify(item));
    record.bytes = jsonBytes(record) + itemBodies.reduce((n, b) => n + Buffer.byteLength(b, 'utf8'), 0);
    await this.#charge(key, record.bytes, record.expires_ms);
    const multi = this.#client.multi().set(key, JSON.stringify(record), 'PX', this.#ttlMs);
    items.forEach((item, i) => multi.set(this.#itemKey(owner, item.id), itemBodies[i]!, 'PX', this.#ttlMs));
    await multi.exec();
  }

  async #responseRecord(owner: string, id: string): Promise<ResponseRecord | undefined> {
    const raw = await this.#client.get(this.#responseKey(owner, id));
    return raw === null ? undefined : (JSON.parse(raw) as ResponseRecord);
  }

  async getResponse(owner: string, id: string): Promise<StoredResponse | undefined> {
    const r = await this.#responseRecord(owner, id);
    if (!r) return undefined;
    return {
      id, owner, created_at: Math.floor(r.created_ms / 1000), expires_at: Math.floor(r.expires_ms / 1000),
      response: r.response, input_items: r.input_items, history_items: r.history_items,
    };
  }

  async deleteResponse(owner: string, id: string): Promise<boolean> {
    const r = await this.#responseRecord(owner, id);
    if (!r) return false;
    const key = this.#responseKey(owner, id);
    const items = [...r.input_items, ...((r.response.output as StoredItem[] | undefined) ?? [])];
    await this.#client.del(key, ...items.map((item) => this.#itemKey(owner, item.id)));
    await this.#release(key);
    return true;
  }

  async getItems(owner: string, ids: readonly string[]): Promise<Map<string, StoredItem>> {
    const unique = [...new Set(ids)];
    const found = new Map<string, StoredItem>();
    if (unique.length === 0) return found;
    const values = await this.#client.mget(...unique.map((id) => this.#itemKey(owner, id)));
    values.forEach((raw, i) => {
      if (raw !== null) found.set(unique[i]!, JSON.parse(raw) as StoredItem);
    });
    return found;
  }

  async #conversation(owner: string, id: string): Promise<ConversationRecord | undefined> {
    const raw = await this.#client.get(this.#convKey(owner, id));
    return raw === null ? undefined : (JSON.parse(raw) as ConversationRecord);
  }

  static #public(c: ConversationRecord): Conversation {
    return { id: c.id, object: 'conversation', created_at: Math.floor(c.created_ms / 1000), metadata: c.metadata };
  }

  /** Writes items and renews the TTL of all of a conversation's keys. */
  async #writeConversation(owner: string, c: ConversationRecord, items: readonly StoredItem[]): Promise<void> {
    const key = this.#convKey(owner, c.id);
    const multi = this.#client.multi().set(key, JSON.stringify(c), 'PX', this.#ttlMs);
    if (items.length > 0) {
      const first = await this.#client.incrby(`${key}:n`, items.length);
      items.forEach((item, i) => {
        multi.zadd(`${key}:z`, String(first - items.length + i + 1), item.id);
        multi.hset(`${key}:h`, item.id, JSON.stringify(item));
      });
    }
    for (const suffix of [':z', ':h', ':n']) multi.pexpire(key + suffix, this.#ttlMs);
    await multi.exec();
  }

  async createConversation(owner: string, metadata: Record<string, string>, items: readonly StoredItem[]): Promise<Conversation> {
    const c: ConversationRecord = { id: newId('conv'), created_ms: this.#now(), metadata };
    const bytes = jsonBytes(c) + items.reduce((n, item) => n + jsonBytes(item), 0);
    await this.#charge(this.#convKey(owner, c.id), bytes, this.#now() + this.#ttlMs);
    await this.#writeConversation(owner, c, items);
    return RedisStateStore.#public(c);
  }

  async getConversation(owner: string, id: string): Promise<Conversation | undefined> {
    const c = await this.#conversation(owner, id);
    return c ? RedisStateStore.#public(c) : undefined;
  }

  async updateConversation(owner: string, id: string, metadata: Record<string, string>): Promise<Conversation | undefined> {
    const c = await this.#conversation(owner, id);
    if (!c) return undefined;
    const next = { ...c, metadata };
    await this.#charge(this.#convKey(owner, id), jsonBytes(next) - jsonBytes(c), this.#now() + this.#ttlMs);
    await this.#writeConversation(owner, next, []);
    return RedisStateStore.#public(next);
  }

  async deleteConversation(owner: string, id: string): Promise<boolean> {
    const key = this.#convKey(owner, id);
    const removed = await this.#client.del(key, `${key}:z`, `${key}:h`, `${key}:n`);
    if (removed === 0) return false;
    await this.#release(key);
    return true;
  }

  async appendItems(owner: string, conversationId: string, items: readonly StoredItem[]): Promise<StoredItem[] | undefined> {
    const c = await this.#conversation(owner, conversationId);
    if (!c) return undefined;
    const bytes = items.reduce((n, item) => n + jsonBytes(item), 0);
    await this.#charge(this.#convKey(owner, conversationId), bytes, this.#now() + this.#ttlMs);
    await this.#writeConversation(owner, c, items);
    return [...items];
  }

  async listItems(owner: string, conversationId: string, options: ListOptions = {}): Promise<ItemPage | undefined> {
    if (!(await this.#conversation(owner, conversationId))) return undefined;
    const key = this.#convKey(owner, conversationId);
    const limit = clampLimit(options.limit);
    const desc = (options.order ?? 'desc') === 'desc';
    let bound = desc ? '+inf' : '-inf';
    if (options.after !== undefined) {
      const score = await this.#client.zscore(`${key}:z`, options.after);
      if (score === null) return { data: [], has_more: false };
      bound = `(${score}`;
    }
    const ids = desc
      ? await this.#client.zrevrangebyscore(`${key}:z`, bound, '-inf', 'LIMIT', 0, limit + 1)
      : await this.#client.zrangebyscore(`${key}:z`, bound, '+inf', 'LIMIT', 0, limit + 1);
    const page = ids.slice(0, limit);
    return { data: await this.#items(key, page), has_more: ids.length > limit };
  }

  async #items(key: string, ids: readonly string[]): Promise<StoredItem[]> {
    if (ids.length === 0) return [];
    const raws = await this.#client.hmget(`${key}:h`, ...ids);
    return raws.filter((r): r is string => r !== null).map((r) => JSON.parse(r) as StoredItem);
  }

  async allItems(owner: string, conversationId: string): Promise<StoredItem[] | undefined> {
    if (!(await this.#conversation(owner, conversationId))) return undefined;
    const key = this.#convKey(owner, conversationId);
    return this.#items(key, await this.#client.zrange(`${key}:z`, '0', '-1'));
  }

  async getItem(owner: string, conversationId: string, itemId: string): Promise<StoredItem | undefined> {
    if (!(await this.#conversation(owner, conversationId))) return undefined;
    const raw = await this.#client.hget(`${this.#convKey(owner, conversationId)}:h`, itemId);
    return raw === null ? undefined : (JSON.parse(raw) as StoredItem);
  }

  async deleteItem(owner: string, conversationId: string, itemId: string): Promise<boolean> {
    if (!(await this.#conversation(owner, conversationId))) return false;
    const key = this.#convKey(owner, conversationId);
    const raw = await this.#client.hget(`${key}:h`, itemId);
    if (raw === null) return false;
    await this.#client.multi().hdel(`${key}:h`, itemId).zrem(`${key}:z`, itemId).exec();
    await this.#charge(key, -Buffer.byteLength(raw, 'utf8'), this.#now() + this.#ttlMs);
    return true;
  }

  async close(): Promise<void> {
    this.#client.disconnect(false);
  }
}
