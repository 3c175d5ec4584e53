/**
 * @module state
 * The factory for the state store: Redis when REDIS_URL is set (state shared by every replica), else
 * SQLite in DATA_DIR (one replica; a second replica on another machine would not see its objects).
 */
import type { Config } from '../config.js';
import { RedisStateStore } from './redis-store.js';
import { SqliteStateStore } from './sqlite-store.js';
import type { StateStore } from './store.js';

export type { Conversation, ItemPage, ListOptions, NewResponse, StateStore, StoredItem, StoredResponse } from './store.js';
export { StoreFullError } from './store.js';

export function createStateStore(config: Pick<Config, 'redis' | 'state'>): StateStore {
  const { responsesTtlS: ttlS, maxBytes, dataDir } = config.state;
  if (config.redis) return new RedisStateStore({ url: config.redis.url, timeoutMs: config.redis.timeoutMs, ttlS, maxBytes });
  return new SqliteStateStore({ dataDir, ttlS, maxBytes });
}
