/**
 * @module state/sqlite-store
 * The state store for a single replica: one SQLite file, `state.sqlite` in config.state.dataDir
 * (created on first use, so a gateway that never stores anything writes nothing).
 *
 * Why `node:sqlite` (DatabaseSync): it is built into Node 24, so there is no native addon to compile in
 * the image and no dependency to audit. Its calls are synchronous; each is one short indexed statement
 * on a local file, which is cheaper than a hop to a thread pool.
 *
 * WAL mode lets reads proceed during a write and survives a crash without a half-written row. Expired
 * rows read as missing at once and are deleted by a purge every `purgeIntervalMs` and before a write
 * that would not fit. Sizes are the JSON bytes charged per row (store.ts), summed at open and kept in
 * memory, so the bound survives a restart.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { newId } from './ids.js';
import {
  StoreFullError, clampLimit, jsonBytes, type Conversation, type ItemPage, type ListOptions, type NewResponse, type StateStore,
  type StoreOptions, type StoredItem, type StoredResponse,
} from './store.js';

export interface SqliteStoreOptions extends StoreOptions {
  dataDir: string;
  /** Default 60 s. */
  purgeIntervalMs?: number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS responses (id TEXT PRIMARY KEY, owner TEXT NOT NULL, created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL, bytes INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS responses_expiry ON responses (expires_ms);
CREATE TABLE IF NOT EXISTS response_items (owner TEXT NOT NULL, id TEXT NOT NULL, response_id TEXT NOT NULL,
  expires_ms INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (owner, id));
CREATE INDEX IF NOT EXISTS response_items_response ON response_items (response_id);
CREATE TABLE IF NOT EXISTS conversations (id TEXT PRIMARY KEY, owner TEXT NOT NULL, created_ms INTEGER NOT NULL,
  expires_ms INTEGER NOT NULL, metadata TEXT NOT NULL, bytes INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_expiry ON conversations (expires_ms);
CREATE TABLE IF NOT EXISTS conversation_items (seq INTEGER PRIMARY KEY AUTOINCREMENT, conversation_id TEXT NOT NULL,
  id TEXT NOT NULL, body TEXT NOT NULL, bytes INTEGER NOT NULL, UNIQUE (conversation_id, id));
`;

type Row = Record<string, unknown>;

export class SqliteStateStore implements StateStore {
  private handle: DatabaseSync | undefined;
  private timer: NodeJS.Timeout | undefined;
  private used = 0;
  private readonly now: () => number;

  constructor(private readonly options: SqliteStoreOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Opens the file on first use. */
  private get db(): DatabaseSync {
    if (this.handle) return this.handle;
    mkdirSync(this.options.dataDir, { recursive: true });
    const db = new DatabaseSync(join(this.options.dataDir, 'state.sqlite'));
    db.exec('PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA busy_timeout = 1000;');
    db.exec(SCHEMA);
    this.handle = db;
    this.purge();
    this.timer = setInterval(() => this.purge(), this.options.purgeIntervalMs ?? 60_000);
    this.timer.unref();
    return db;
  }

  /** Deletes expired rows and recounts the bytes in use. */
  purge(): void {
    const db = this.db;
    const now = this.now();
    this.tx(() => {
      db.prepare('DELETE FROM responses WHERE expires_ms <= ?').run(now);
      db.prepare('DELETE FROM response_items WHERE expires_ms <= ?').run(now);
      db.prepare('DELETE FROM conversation_items WHERE conversation_id IN (SELECT id FROM conversations WHERE expires_ms <= ?)').run(now);
      db.prepare('DELETE FROM conversations WHERE expires_ms <= ?').run(now);
    });
    const row = db
      .prepare(
        `SELECT (SELECT COALESCE(SUM(bytes), 0) FROM responses) + (SELECT COALESCE(SUM(bytes), 0) FROM conversations)
         + (SELECT COALESCE(SUM(bytes), 0) FROM conversation_items) AS used`,
      )
      .get() as Row;
    this.used = Number(row.used);
  }

  private tx<T>(fn: () => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }

  /** Reserves `bytes`, purging first when they do not fit; throws StoreFullError when they still do not. */
  private charge(bytes: number): void {
    // Opening recounts `used` from the file, so open before counting on it.
    if (!this.handle) this.purge();
    if (this.used + bytes > this.options.maxBytes) this.purge();
    if (this.used + bytes > this.options.maxBytes) throw new StoreFullError(bytes, this.options.maxBytes);
    this.used += bytes;
  }

  private expiry(): number {
    return this.now() + this.options.ttlS * 1000;
  }

  async putResponse(owner: string, value: NewResponse): Promise<void> {
    const body = JSON.stringify({ response: value.response, input_items: value.input_items, history_items: value.history_items });
    const items = [...value.input_items, ...((value.response.output as StoredItem[] | undefined) ?? [])];
    const itemBodies = items.map((item) => JSON.stringify(item));
    const bytes = Buffer.byteLength(body, 'utf8') + itemBodies.reduce((n, b) => n + Buffer.byteLength(b, 'utf8'), 0);
    this.charge(bytes);
    const now = this.now();
    const expires = this.expiry();
    try {
      this.tx(() => {
        this.db
          .prepare('INSERT OR REPLACE INTO responses (id, owner, created_ms, expires_ms, bytes, body) VALUES (?, ?, ?, ?, ?, ?)')
          .run(value.id, owner, now, expires, bytes, body);
        const insertItem = this.db.prepare(
          'INSERT OR REPLACE INTO response_items (owner, id, response_id, expires_ms, body) VALUES (?, ?, ?, ?, ?)',
        );
        items.forEach((item, i) => insertItem.run(owner, item.id, value.id, expires, itemBodies[i]!));
      });
    } catch (err) {
      this.used -= bytes;
      throw err;
    }
  }

  async getResponse(owner: string, id: string): Promise<StoredResponse | undefined> {
    const row = this.db
      .prepare('SELECT created_ms, expires_ms, body FROM responses WHERE id = ? AND owner = ? AND expires_ms > ?')
      .get(id, owner, this.now()) as Row | undefined;
    if (!row) return undefined;
    const body = JSON.parse(String(row.body)) as Pick<StoredResponse, 'response' | 'input_items' | 'history_items'>;
    return {
      id,
      owner,
      created_at: Math.floor(Number(row.created_ms) / 1000),
      expires_at: Math.floor(Number(row.expires_ms) / 1000),
      ...body,
    };
  }

  async deleteResponse(owner: string, id: string): Promise<boolean> {
    return this.tx(() => {
      const row = this.db.prepare('SELECT bytes FROM responses WHERE id = ? AND owner = ? AND expires_ms > ?').get(id, owner, this.now()) as
        | Row
        | undefined;
      if (!row) return false;
      this.db.prepare('DELETE FROM responses WHERE id = ?').run(id);
      this.db.prepare('DELETE FROM response_items WHERE response_id = ?').run(id);
      this.used -= Number(row.bytes);
      return true;
    });
  }

  async getItems(owner: string, ids: readonly string[]): Promise<Map<string, StoredItem>> {
    const found = new Map<string, StoredItem>();
    const select = this.db.prepare('SELECT body FROM response_items WHERE owner = ? AND id = ? AND expires_ms > ?');
    const now = this.now();
    for (const id of new Set(ids)) {
      const row = select.get(owner, id, now) as Row | undefined;
      if (row) found.set(id, JSON.parse(String(row.body)) as StoredItem);
    }
    return found;
  }

  private conversationRow(owner: string, id: string): Row | undefined {
    return this.db
      .prepare('SELECT id, created_ms, metadata FROM conversations WHERE id = ? AND owner = ? AND expires_ms > ?')
      .get(id, owner, this.now()) as Row | undefined;
  }

  private static conversation(row: Row): Conversation {
    return {
      id: String(row.id),
      object: 'conversation',
      created_at: Math.floor(Number(row.created_ms) / 1000),
      metadata: JSON.parse(String(row.metadata)) as Record<string, string>,
    };
  }

  private insertItems(conversationId: string, items: readonly StoredItem[]): void {
    const insert = this.db.prepare('INSERT OR REPLACE INTO conversation_items (conversation_id, id, body, bytes) VALUES (?, ?, ?, ?)');
    for (const item of items) {
      const body = JSON.stringify(item);
      insert.run(conversationId, item.id, body, Buffer.byteLength(body, 'utf8'));
    }
  }

  async createConversation(owner: string, metadata: Record<string, string>, items: readonly StoredItem[]): Promise<Conversation> {
    const id = newId('conv');
    const metaJson = JSON.stringify(metadata);
    const metaBytes = Buffer.byteLength(metaJson, 'utf8');
    const bytes = metaBytes + items.reduce((n, item) => n + jsonBytes(item), 0);
    this.charge(bytes);
    const now = this.now();
    try {
      this.tx(() => {
        this.db
          .prepare('INSERT INTO conversations (id, owner, created_ms, expires_ms, metadata, bytes) VALUES (?, ?, ?, ?, ?, ?)')
          .run(id, owner, now, this.expiry(), metaJson, metaBytes);
        this.insertItems(id, items);
      });
    } catch (err) {
      this.used -= bytes;
      throw err;
    }
    return { id, object: 'conversation', created_at: Math.floor(now / 1000), metadata };
  }

  async getConversation(owner: string, id: string): Promise<Conversation | undefined> {
    const row = this.conversationRow(owner, id);
    return row ? SqliteStateStore.conversation(row) : undefined;
  }

  async updateConversation(owner: string, id: string, metadata: Record<string, string>): Promise<Conversation | undefined> {
    const row = this.conversationRow(owner, id);
    if (!row) return undefined;
    const metaJson = JSON.stringify(metadata);
    const bytes = Buffer.byteLength(metaJson, 'utf8');
    const old = Buffer.byteLength(String(row.metadata), 'utf8');
    if (bytes > old) this.charge(bytes - old);
    else this.used -= old - bytes;
    this.db.prepare('UPDATE conversations SET metadata = ?, bytes = ?, expires_ms = ? WHERE id = ?').run(metaJson, bytes, this.expiry(), id);
    return SqliteStateStore.conversation({ ...row, metadata: metaJson });
  }

  async deleteConversation(owner: string, id: string): Promise<boolean> {
    if (!this.conversationRow(owner, id)) return false;
    this.tx(() => {
      this.db.prepare('DELETE FROM conversation_items WHERE conversation_id = ?').run(id);
      this.db.prepare('DELETE FROM conversations WHERE id = ?').run(id);
    });
    this.purge();
    return true;
  }

  async appendItems(owner: string, conversationId: string, items: readonly StoredItem[]): Promise<StoredItem[] | undefined> {
    if (!this.conversationRow(owner, conversationId)) return undefined;
    const bytes = items.reduce((n, item) => n + jsonBytes(item), 0);
    this.charge(bytes);
    try {
      this.tx(() => {
        this.insertItems(conversationId, items);
        this.db.prepare('UPDATE conversations SET expires_ms = ? WHERE id = ?').run(this.expiry(), conversationId);
      });
    } catch (err) {
      this.used -= bytes;
      throw err;
    }
    return [...items];
  }

  async listItems(owner: string, conversationId: string, options: ListOptions = {}): Promise<ItemPage | undefined> {
    if (!this.conversationRow(owner, conversationId)) return undefined;
    const limit = clampLimit(options.limit);
    const desc = (options.order ?? 'desc') === 'desc';
    let from: number = desc ? Number.MAX_SAFE_INTEGER : 0;
    if (options.after !== undefined) {
      const row = this.db.prepare('SELECT seq FROM conversation_items WHERE conversation_id = ? AND id = ?').get(conversationId, options.after) as
        | Row
        | undefined;
      if (!row) return { data: [], has_more: false };
      from = Number(row.seq);
    }
    const rows = this.db
      .prepare(
        desc
          ? 'SELECT body FROM conversation_items WHERE conversation_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?'
          : 'SELECT body FROM conversation_items WHERE conversation_id = ? AND seq > ? ORDER BY seq ASC LIMIT ?',
      )
      .all(conversationId, from, limit + 1) as Row[];
    const data = rows.slice(0, limit).map((r) => JSON.parse(String(r.body)) as StoredItem);
    return { data, has_more: rows.length > limit };
  }

  async allItems(owner: string, conversationId: string): Promise<StoredItem[] | undefined> {
    if (!this.conversationRow(owner, conversationId)) return undefined;
    const rows = this.db.prepare('SELECT body FROM conversation_items WHERE conversation_id = ? ORDER BY seq ASC').all(conversationId) as Row[];
    return rows.map((r) => JSON.parse(String(r.body)) as StoredItem);
  }

  async getItem(owner: string, conversationId: string, itemId: string): Promise<StoredItem | undefined> {
    if (!this.conversationRow(owner, conversationId)) return undefined;
    const row = this.db.prepare('SELECT body FROM conversation_items WHERE conversation_id = ? AND id = ?').get(conversationId, itemId) as
      | Row
      | undefined;
    return row ? (JSON.parse(String(row.body)) as StoredItem) : undefined;
  }

  async deleteItem(owner: string, conversationId: string, itemId: string): Promise<boolean> {
    if (!this.conversationRow(owner, conversationId)) return false;
    const row = this.db.prepare('SELECT bytes FROM conversation_items WHERE conversation_id = ? AND id = ?').get(conversationId, itemId) as
      | Row
      | undefined;
    if (!row) return false;
    this.db.prepare('DELETE FROM conversation_items WHERE conversation_id = ? AND id = ?').run(conversationId, itemId);
    this.used -= Number(row.bytes);
    return true;
  }

  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.handle?.close();
    this.handle = undefined;
  }
}
