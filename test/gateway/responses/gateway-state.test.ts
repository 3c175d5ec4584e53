/**
 * Stored Responses state through the real gateway (issue 12): it survives a restart (SQLite in
 * DATA_DIR), two replicas share it (Redis), it expires after RESPONSES_TTL_S, another key never sees it,
 * and a stream vLLM cuts ends with response.failed, never response.completed.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../gateway/config.js';
import { startGateway, type RunningGateway } from '../../../gateway/server.js';
import { startSimulator, type Simulator } from '../../../vllm/sim/index.js';
import { describeWithRedis, startRedis, type RedisServer } from '../../support/redis.js';

let sim: Simulator;
const dirs: string[] = [];
beforeAll(async () => {
  sim = startSimulator({ ttftMs: 0, itlMs: 1, outputTokens: 8 });
  await sim.ready;
});
afterAll(async () => {
  await sim.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

async function gateway(env: Record<string, string>): Promise<RunningGateway> {
  const gw = await startGateway(parseConfig({ VLLM_URL: sim.url, PORT: '0', HOST: '127.0.0.1', API_KEYS: 'alice:sk-alice,bob:sk-bob', LOG_LEVEL: 'silent', ...env }));
  await gw.waitReady(5_000);
  return gw;
}
const client = (gw: RunningGateway, key = 'sk-alice') => new OpenAI({ baseURL: `${gw.url}/v1`, apiKey: key, maxRetries: 0 });
const tempDir = () => {
  const d = mkdtempSync(join(tmpdir(), 'vg-state-'));
  dirs.push(d);
  return d;
};

describe('SQLite state (DATA_DIR)', () => {
  it('survives a gateway restart; another key gets 404', async () => {
    const dir = tempDir();
    const first = await gateway({ DATA_DIR: dir });
    const created = await client(first).responses.create({ model: 'qwen2.5-7b-instruct', input: 'remember me' });
    const conv = await client(first).conversations.create({ metadata: { topic: 'x' } });
    await first.shutdown();
    const second = await gateway({ DATA_DIR: dir });
    try {
      const again = await client(second).responses.retrieve(created.id);
      expect(again.output_text).toBe(created.output_text);
      expect((await client(second).conversations.retrieve(conv.id)).metadata).toEqual({ topic: 'x' });
      await expect(client(second, 'sk-bob').responses.retrieve(created.id)).rejects.toMatchObject({ status: 404 });
      await expect(client(second, 'sk-bob').conversations.retrieve(conv.id)).rejects.toMatchObject({ status: 404 });
      const chained = await client(second).responses.create({ model: 'qwen2.5-7b-instruct', input: 'and now?', previous_response_id: created.id });
      expect(chained.previous_response_id).toBe(created.id);
    } finally {
      await second.shutdown();
    }
  });

  it('expires stored responses after RESPONSES_TTL_S', async () => {
    const gw = await gateway({ DATA_DIR: tempDir(), RESPONSES_TTL_S: '1' });
    try {
      const created = await client(gw).responses.create({ model: 'qwen2.5-7b-instruct', input: 'short-lived' });
      expect((await client(gw).responses.retrieve(created.id)).id).toBe(created.id);
      await new Promise((r) => setTimeout(r, 2_100));
      await expect(client(gw).responses.retrieve(created.id)).rejects.toMatchObject({ status: 404 });
    } finally {
      await gw.shutdown();
    }
  });

  it('a stream cut by vLLM ends with response.failed, never response.completed', async () => {
    const gw = await gateway({ DATA_DIR: tempDir() });
    try {
      for (const fault of ['reset-mid-stream', 'error-mid-stream']) {
        const res = await fetch(`${gw.url}/v1/responses`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer sk-alice' },
          body: JSON.stringify({ model: 'qwen2.5-7b-instruct', input: `tell me [[sim:${fault}]]`, stream: true, max_output_tokens: 8 }),
        });
        expect(res.status).toBe(200);
        const text = await res.text();
        const types = [...text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);
        expect(types[0], fault).toBe('response.created');
        expect(types, fault).toContain('response.failed');
        expect(types, fault).not.toContain('response.completed');
        expect(text).not.toContain('[DONE]');
      }
    } finally {
      await gw.shutdown();
    }
  });
});

describeWithRedis('Redis state (REDIS_URL)', () => {
  let redis: RedisServer;
  beforeAll(async () => {
    redis = await startRedis();
  });
  afterAll(() => redis.close());

  it('two replicas share stored responses and conversations', async () => {
    const env = { REDIS_URL: redis.url, DATA_DIR: tempDir(), REDIS_TIMEOUT_MS: '1000' };
    const a = await gateway(env);
    const b = await gateway(env);
    try {
      const created = await client(a).responses.create({ model: 'qwen2.5-7b-instruct', input: 'shared' });
      expect((await client(b).responses.retrieve(created.id)).output_text).toBe(created.output_text);
      const conv = await client(a).conversations.create({ items: [{ type: 'message', role: 'user', content: 'first turn' }] });
      const turn = await client(b).responses.create({ model: 'qwen2.5-7b-instruct', input: 'second turn', conversation: conv.id });
      expect(turn.status).toBe('completed');
      const items = await client(a).conversations.items.list(conv.id, { order: 'asc' });
      expect(items.data.map((i) => i.type)).toEqual(['message', 'message', 'message']);
      await expect(client(b, 'sk-bob').responses.retrieve(created.id)).rejects.toMatchObject({ status: 404 });
    } finally {
      await a.shutdown();
      await b.shutdown();
    }
  });
});
