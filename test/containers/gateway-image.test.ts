/**
 * The gateway image (Dockerfile.gateway) in a real container on the host network, in front of the vLLM
 * simulator running in this process: user, probes, an OpenAI SDK stream, draining on SIGTERM, and refusing
 * a bad configuration.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PATHS } from '../../gateway/routes/paths.js';
import { startSimulator, type Simulator } from '../../vllm/sim/index.js';
import { dockerOrSkip, freePort, healthcheckCommand, imageUser, IMAGES, removeAll, startContainer, type Running } from './harness.js';

const ready = await dockerOrSkip('gateway image', [IMAGES.gateway]);

const CLIENT_KEY = 'sk-container-test';
const ENGINE_KEY = 'engine-key-for-the-container-test';

async function waitForStatus(url: string, status: number, ms = 10_000): Promise<Response> {
  const deadline = Date.now() + ms;
  for (;;) {
    const res = await fetch(url).catch(() => undefined);
    if (res?.status === status) return res;
    await res?.body?.cancel();
    if (Date.now() > deadline) throw new Error(`${url} did not answer ${status} within ${ms} ms (last: ${res?.status ?? 'no connection'})`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe.skipIf(!ready)('gateway image', () => {
  let sim: Simulator;
  let env: Record<string, string>;

  beforeAll(async () => {
    sim = startSimulator({ host: '127.0.0.1', port: 0, apiKeys: [ENGINE_KEY], ttftMs: 20, itlMs: 5 });
    await sim.ready;
    env = { VLLM_URL: sim.url, VLLM_API_KEY: ENGINE_KEY, API_KEYS: `test:${CLIENT_KEY}`, SHUTDOWN_GRACE_MS: '10000', LOG_LEVEL: 'info' };
  });
  afterAll(async () => {
    await removeAll();
    await sim?.close();
  });

  describe('running', () => {
    let gw: Running;
    let base: string;
    beforeAll(async () => {
      const port = await freePort();
      base = `http://127.0.0.1:${port}`;
      gw = await startContainer(IMAGES.gateway, { env: { ...env, PORT: String(port) } });
    });
    afterAll(async () => {
      await gw?.stop(5_000);
      await gw?.remove();
    });

    it('runs as a non-root user', async () => {
      expect(await imageUser(IMAGES.gateway)).toBe('gateway:gateway');
      const id = await gw.container.exec(['id', '-u']);
      expect(id.exitCode).toBe(0);
      expect(Number(id.output.trim())).toBeGreaterThan(0);
    });

    it('answers /livez, and /health once vLLM is ready', async () => {
      const livez = await fetch(`${base}${PATHS.livez}`);
      expect(livez.status).toBe(200);
      const health = await waitForStatus(`${base}${PATHS.health}`, 200);
      expect(await health.json()).toMatchObject({ status: 'ready', model: 'qwen2.5-7b-instruct' });
    });

    it("passes the image's own HEALTHCHECK command", async () => {
      const result = await gw.container.exec(await healthcheckCommand(IMAGES.gateway));
      expect(result.exitCode).toBe(0);
    });

    it('serves an OpenAI SDK stream from the simulator, with usage', async () => {
      await waitForStatus(`${base}${PATHS.health}`, 200);
      const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: CLIENT_KEY, maxRetries: 0, timeout: 15_000 });
      const stream = await client.chat.completions.create({
        model: 'qwen2.5-7b-instruct',
        messages: [{ role: 'user', content: 'Say something.' }],
        max_tokens: 12,
        stream: true,
        stream_options: { include_usage: true },
      });
      let text = '';
      let finish: string | null | undefined;
      let completionTokens: number | undefined;
      for await (const chunk of stream) {
        text += chunk.choices[0]?.delta.content ?? '';
        finish = chunk.choices[0]?.finish_reason ?? finish;
        completionTokens = chunk.usage?.completion_tokens ?? completionTokens;
      }
      expect(text.trim().split(/\s+/)).toHaveLength(12);
      expect(finish).toBe('length');
      expect(completionTokens).toBe(12);
    });

    it('stores Responses in its data directory as the unprivileged user (retrieve after create)', async () => {
      const client = new OpenAI({ baseURL: `${base}/v1`, apiKey: CLIENT_KEY, maxRetries: 0, timeout: 15_000 });
      const created = await client.responses.create({ model: 'qwen2.5-7b-instruct', input: 'Say hello', max_output_tokens: 6 });
      expect(created.status).toBe('incomplete');
      const again = await client.responses.retrieve(created.id);
      expect(again.output_text).toBe(created.output_text);
    });

    it('refuses a request without a client key', async () => {
      const res = await fetch(`${base}/v1/models`);
      expect(res.status).toBe(401);
    });
  });

  it('drains an in-flight stream on SIGTERM, then exits 0', async () => {
    const port = await freePort();
    const gw = await startContainer(IMAGES.gateway, { env: { ...env, PORT: String(port) } });
    try {
      await waitForStatus(`http://127.0.0.1:${port}${PATHS.health}`, 200);
      const client = new OpenAI({ baseURL: `http://127.0.0.1:${port}/v1`, apiKey: CLIENT_KEY, maxRetries: 0, timeout: 15_000 });
      // 20 tokens, 100 ms apart: about 2 s of streaming, most of it after the SIGTERM.
      const stream = await client.chat.completions.create({
        model: 'qwen2.5-7b-instruct',
        messages: [{ role: 'user', content: 'Count slowly. [[sim:itl=100]]' }],
        max_tokens: 20,
        stream: true,
      });
      const iterator = stream[Symbol.asyncIterator]();
      const first = await iterator.next();
      expect(first.done).toBe(false);
      const stopping = gw.stop(20_000);
      let chunks = 1;
      let finish: string | null | undefined;
      for (let next = await iterator.next(); !next.done; next = await iterator.next()) {
        chunks++;
        finish = next.value.choices[0]?.finish_reason ?? finish;
      }
      expect(finish).toBe('length');
      expect(chunks).toBeGreaterThanOrEqual(20);
      expect(await stopping).toBe(0);
      expect(gw.logs()).toMatch(/draining: no new requests/);
    } finally {
      await gw.remove();
    }
  }, 40_000);

  it.each([
    ['a malformed value', { MAX_QUEUE: 'lots' }, /MAX_QUEUE/],
    ['production without VLLM_URL', { VLLM_URL: '' }, /VLLM_URL/],
  ])('exits 1 and names the variable on %s', async (_what, bad, message) => {
    const port = await freePort();
    const merged: Record<string, string> = { ...env, PORT: String(port), ...bad };
    if (merged.VLLM_URL === '') delete merged.VLLM_URL;
    const gw = await startContainer(IMAGES.gateway, { env: merged, readyLog: null });
    try {
      expect(await gw.exitCode()).toBe(1);
      await gw.waitForLog(message, 5_000);
    } finally {
      await gw.remove();
    }
  }, 30_000);
});
