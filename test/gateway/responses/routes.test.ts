/**
 * The conversation and stored-response routes' refusals over a real socket (harness.ts): the OpenAI
 * envelope with `param`, 404 for other owners' ids, 507 when the store is full, 503 when it is down.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisStateStore } from '../../../gateway/state/redis-store.js';
import { SqliteStateStore } from '../../../gateway/state/sqlite-store.js';
import { startSimulator, type Simulator } from '../../../vllm/sim/index.js';
import { startHarness, type Harness } from './harness.js';

let sim: Simulator;
let dir: string;
let store: SqliteStateStore;
let gw: Harness;

beforeAll(async () => {
  sim = startSimulator({ ttftMs: 0, itlMs: 0, outputTokens: 8 });
  await sim.ready;
  dir = mkdtempSync(join(tmpdir(), 'vg-routes-'));
  store = new SqliteStateStore({ dataDir: dir, ttlS: 3600, maxBytes: 6_000 });
  gw = await startHarness(store, sim.url);
});
afterAll(async () => {
  await gw?.close();
  await store?.close();
  await sim?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function call(method: string, path: string, body?: unknown, key = 'alice', contentType = 'application/json') {
  const res = await fetch(`${gw.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'content-type': contentType }) },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: (await res.json()) as { error?: { message: string; type: string; param: string | null; code: string | null } } & Record<string, unknown> };
}

describe('conversation routes: refusals', () => {
  it('answers unknown and foreign ids with the same 404', async () => {
    const { json: conv } = await call('POST', '/v1/conversations', {});
    const foreign = await call('GET', `/v1/conversations/${String(conv.id)}`, undefined, 'bob');
    const missing = await call('GET', '/v1/conversations/conv_missing');
    expect(foreign.status).toBe(404);
    expect(missing.status).toBe(404);
    expect(Object.keys(foreign.json.error!).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(foreign.json.error!.message.replace(/'.*'/, '')).toBe(missing.json.error!.message.replace(/'.*'/, ''));
    expect((await call('DELETE', `/v1/conversations/${String(conv.id)}/items/msg_nope`)).status).toBe(404);
    expect((await call('GET', '/v1/responses/resp_missing/input_items')).status).toBe(404);
  });

  it('names the bad field', async () => {
    const { json: conv } = await call('POST', '/v1/conversations', {});
    const cases: Array<[string, string, unknown, string | null]> = [
      ['POST', '/v1/conversations', { metadata: { k: 1 } }, 'metadata.k'],
      ['POST', '/v1/conversations', { extra: true }, null],
      ['POST', '/v1/conversations', { items: [{ role: 'user', content: [{ type: 'input_image', image_url: 'x' }] }] }, 'items[0].content[0].type'],
      ['POST', `/v1/conversations/${String(conv.id)}/items`, { items: [] }, 'items'],
      ['GET', `/v1/conversations/${String(conv.id)}/items?limit=0`, undefined, 'limit'],
      ['GET', `/v1/conversations/${String(conv.id)}/items?order=sideways`, undefined, 'order'],
    ];
    for (const [method, path, body, param] of cases) {
      const { status, json } = await call(method, path, body);
      expect([method, path, status]).toEqual([method, path, 400]);
      expect(json.error!.type).toBe('invalid_request_error');
      if (param) expect(json.error!.param).toBe(param);
    }
    const plain = await call('POST', '/v1/conversations', 'hi', 'alice', 'text/plain');
    expect([plain.status, plain.json.error!.code]).toEqual([400, 'invalid_content_type']);
  });

  it('answers 507 store_full when the store is full, and nothing is half-written', async () => {
    const big = 'x'.repeat(3_000);
    const first = await call('POST', '/v1/conversations', { items: [{ role: 'user', content: big }] });
    expect(first.status).toBe(200);
    const full = await call('POST', '/v1/conversations', { items: [{ role: 'user', content: big }] });
    expect([full.status, full.json.error!.code, full.json.error!.type]).toEqual([507, 'store_full', 'server_error']);
    expect(full.json.error!.message).not.toContain('xxx');
    const resp = await call('POST', '/v1/responses', { model: 'qwen2.5-7b-instruct', input: big });
    expect([resp.status, resp.json.error?.code]).toEqual([507, 'store_full']);
    const unstored = await call('POST', '/v1/responses', { model: 'qwen2.5-7b-instruct', input: big, store: false });
    expect(unstored.status).toBe(200);
  });
});

describe('a state store that is down', () => {
  it('answers 503 store_unavailable', async () => {
    const port = await new Promise<number>((resolve) => {
      const s = createServer().listen(0, '127.0.0.1', () => {
        const p = (s.address() as { port: number }).port;
        s.close(() => resolve(p));
      });
    });
    const down = new RedisStateStore({ url: `redis://127.0.0.1:${port}`, timeoutMs: 50, ttlS: 60, maxBytes: 1 << 20 });
    const h = await startHarness(down, sim.url);
    try {
      const res = await fetch(`${h.url}/v1/conversations/conv_x`, { headers: { authorization: 'Bearer alice' } });
      const json = (await res.json()) as { error: { code: string } };
      expect([res.status, json.error.code, res.headers.get('retry-after')]).toEqual([503, 'store_unavailable', '1']);
    } finally {
      await h.close();
      await down.close();
    }
  });
});
