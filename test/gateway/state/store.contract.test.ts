/**
 * One contract suite for both state stores (gateway/state/store.ts): SQLite in a temporary directory and
 * Redis on a real redis-server. Each case states the behaviour the routes and the Responses pipeline
 * rely on.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStateStore } from '../../../gateway/state/redis-store.js';
import { SqliteStateStore } from '../../../gateway/state/sqlite-store.js';
import { StoreFullError, type StateStore, type StoredItem } from '../../../gateway/state/store.js';
import { describeWithRedis, startRedis, type RedisServer } from '../../support/redis.js';

interface Harness {
  open(options?: { ttlS?: number; maxBytes?: number }): Promise<StateStore>;
  cleanup(): Promise<void>;
}

const msg = (id: string, text: string): StoredItem => ({
  id, type: 'message', role: 'user', status: 'completed', content: [{ type: 'input_text', text }],
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function contract(name: string, harness: () => Harness) {
  describe(`${name} state store`, () => {
    let h: Harness;
    let store: StateStore;
    beforeAll(async () => {
      h = harness();
      store = await h.open();
    });
    afterAll(async () => {
      await store.close();
      await h.cleanup();
    });

    it('stores a response with its items and reads it back for its owner only', async () => {
      const output = [{ id: 'msg_out1', type: 'message', role: 'assistant', status: 'completed', content: [] }];
      await store.putResponse('alice', {
        id: 'resp_1', response: { id: 'resp_1', object: 'response', output }, input_items: [msg('msg_in1', 'hi')], history_items: [],
      });
      const got = await store.getResponse('alice', 'resp_1');
      expect(got?.response.id).toBe('resp_1');
      expect(got?.input_items).toEqual([msg('msg_in1', 'hi')]);
      expect(got?.expires_at).toBeGreaterThan(got!.created_at);
      expect(await store.getResponse('bob', 'resp_1')).toBeUndefined();
      expect(await store.getResponse('alice', 'resp_nope')).toBeUndefined();
      const items = await store.getItems('alice', ['msg_in1', 'msg_out1', 'msg_missing']);
      expect([...items.keys()].sort()).toEqual(['msg_in1', 'msg_out1']);
      expect((await store.getItems('bob', ['msg_in1'])).size).toBe(0);
    });

    it('deletes a response only for its owner, and its items with it', async () => {
      await store.putResponse('alice', { id: 'resp_del', response: { id: 'resp_del', output: [] }, input_items: [msg('msg_del', 'x')], history_items: [] });
      expect(await store.deleteResponse('bob', 'resp_del')).toBe(false);
      expect(await store.deleteResponse('alice', 'resp_del')).toBe(true);
      expect(await store.deleteResponse('alice', 'resp_del')).toBe(false);
      expect(await store.getResponse('alice', 'resp_del')).toBeUndefined();
      expect((await store.getItems('alice', ['msg_del'])).size).toBe(0);
    });

    it('creates, updates and deletes a conversation, isolated by owner', async () => {
      const c = await store.createConversation('alice', { topic: 'x' }, [msg('msg_c1', 'one')]);
      expect(c.id).toMatch(/^conv_[0-9a-f]{48}$/);
      expect(c.object).toBe('conversation');
      expect(await store.getConversation('alice', c.id)).toEqual(c);
      expect(await store.getConversation('bob', c.id)).toBeUndefined();
      expect(await store.updateConversation('bob', c.id, { a: 'b' })).toBeUndefined();
      expect(await store.appendItems('bob', c.id, [msg('msg_evil', 'no')])).toBeUndefined();
      expect(await store.listItems('bob', c.id)).toBeUndefined();
      expect(await store.getItem('bob', c.id, 'msg_c1')).toBeUndefined();
      expect(await store.deleteItem('bob', c.id, 'msg_c1')).toBe(false);
      expect((await store.updateConversation('alice', c.id, { topic: 'y' }))?.metadata).toEqual({ topic: 'y' });
      expect((await store.getConversation('alice', c.id))?.metadata).toEqual({ topic: 'y' });
      expect(await store.deleteConversation('bob', c.id)).toBe(false);
      expect(await store.deleteConversation('alice', c.id)).toBe(true);
      expect(await store.getConversation('alice', c.id)).toBeUndefined();
      expect(await store.allItems('alice', c.id)).toBeUndefined();
    });

    it('lists items newest first by default, pages with after/limit, and lists oldest first on asc', async () => {
      const c = await store.createConversation('alice', {}, [msg('msg_p1', '1'), msg('msg_p2', '2')]);
      await store.appendItems('alice', c.id, [msg('msg_p3', '3'), msg('msg_p4', '4'), msg('msg_p5', '5')]);
      const ids = (page: { data: StoredItem[] } | undefined) => page?.data.map((i) => i.id);
      const first = await store.listItems('alice', c.id, { limit: 2 });
      expect(ids(first)).toEqual(['msg_p5', 'msg_p4']);
      expect(first?.has_more).toBe(true);
      const second = await store.listItems('alice', c.id, { limit: 2, after: 'msg_p4' });
      expect(ids(second)).toEqual(['msg_p3', 'msg_p2']);
      const last = await store.listItems('alice', c.id, { limit: 2, after: 'msg_p2' });
      expect(ids(last)).toEqual(['msg_p1']);
      expect(last?.has_more).toBe(false);
      expect(ids(await store.listItems('alice', c.id, { order: 'asc', limit: 3 }))).toEqual(['msg_p1', 'msg_p2', 'msg_p3']);
      expect(ids(await store.listItems('alice', c.id, { order: 'asc', after: 'msg_p3' }))).toEqual(['msg_p4', 'msg_p5']);
      expect((await store.allItems('alice', c.id))?.map((i) => i.id)).toEqual(['msg_p1', 'msg_p2', 'msg_p3', 'msg_p4', 'msg_p5']);
      expect((await store.getItem('alice', c.id, 'msg_p3'))?.content).toEqual([{ type: 'input_text', text: '3' }]);
      expect(await store.deleteItem('alice', c.id, 'msg_p3')).toBe(true);
      expect(await store.getItem('alice', c.id, 'msg_p3')).toBeUndefined();
      expect((await store.allItems('alice', c.id))?.map((i) => i.id)).toEqual(['msg_p1', 'msg_p2', 'msg_p4', 'msg_p5']);
    });

    it('forgets responses and conversations after their TTL', async () => {
      const short = await h.open({ ttlS: 1 });
      try {
        await short.putResponse('alice', { id: 'resp_ttl', response: { id: 'resp_ttl', output: [] }, input_items: [msg('msg_ttl', 't')], history_items: [] });
        const c = await short.createConversation('alice', {}, []);
        expect(await short.getResponse('alice', 'resp_ttl')).toBeDefined();
        await sleep(1_300);
        expect(await short.getResponse('alice', 'resp_ttl')).toBeUndefined();
        expect((await short.getItems('alice', ['msg_ttl'])).size).toBe(0);
        expect(await short.getConversation('alice', c.id)).toBeUndefined();
      } finally {
        await short.close();
      }
    });

    it('refuses writes past maxBytes with StoreFullError, and has room again after a delete', async () => {
      const small = await h.open({ maxBytes: 4_096 });
      try {
        const big = 'x'.repeat(1_500);
        await small.putResponse('alice', { id: 'resp_b1', response: { id: 'resp_b1', output: [] }, input_items: [msg('msg_b1', big)], history_items: [] });
        await expect(
          small.putResponse('alice', { id: 'resp_b2', response: { id: 'resp_b2', output: [] }, input_items: [msg('msg_b2', big)], history_items: [] }),
        ).rejects.toBeInstanceOf(StoreFullError);
        await expect(small.createConversation('alice', {}, [msg('msg_b3', big + big)])).rejects.toBeInstanceOf(StoreFullError);
        expect(await small.getResponse('alice', 'resp_b2')).toBeUndefined();
        expect(await small.deleteResponse('alice', 'resp_b1')).toBe(true);
        await small.putResponse('alice', { id: 'resp_b2', response: { id: 'resp_b2', output: [] }, input_items: [msg('msg_b2', big)], history_items: [] });
        expect(await small.getResponse('alice', 'resp_b2')).toBeDefined();
      } finally {
        await small.close();
      }
    });
  });
}

contract('SQLite', () => {
  const dirs: string[] = [];
  return {
    async open(options = {}) {
      const dir = mkdtempSync(join(tmpdir(), 'vg-state-'));
      dirs.push(dir);
      return new SqliteStateStore({ dataDir: join(dir, 'data'), ttlS: options.ttlS ?? 3600, maxBytes: options.maxBytes ?? 1 << 20 });
    },
    async cleanup() {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
});

describe('SQLite state store across restarts', () => {
  it('keeps responses and conversations when the file is reopened, size accounting included', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'vg-state-'));
    try {
      const open = () => new SqliteStateStore({ dataDir: dir, ttlS: 3600, maxBytes: 3_000 });
      const first = open();
      await first.putResponse('alice', { id: 'resp_p', response: { id: 'resp_p', output: [] }, input_items: [msg('msg_pp', 'y'.repeat(1_200))], history_items: [] });
      const c = await first.createConversation('alice', { k: 'v' }, [msg('msg_pc', 'kept')]);
      await first.close();
      const second = open();
      expect((await second.getResponse('alice', 'resp_p'))?.input_items[0]?.id).toBe('msg_pp');
      expect((await second.allItems('alice', c.id))?.map((i) => i.id)).toEqual(['msg_pc']);
      await expect(second.createConversation('alice', {}, [msg('msg_big', 'z'.repeat(1_500))])).rejects.toBeInstanceOf(StoreFullError);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describeWithRedis('Redis', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(async () => {
    await redis?.close();
  });
  let n = 0;
  contract('Redis', () => ({
    async open(options = {}) {
      const store = new RedisStateStore({
        url: redis.url, timeoutMs: 50, ttlS: options.ttlS ?? 3600, maxBytes: options.maxBytes ?? 1 << 20, keyPrefix: `t${n++}:`,
      });
      await store.ready();
      return store;
    },
    async cleanup() {},
  }));
});
