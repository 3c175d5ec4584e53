/**
 * CORS as a real browser sees it (issue 9, part 2): headless Chromium loads a page from an allowed
 * origin (a tiny server on its own 127.0.0.1 port) and calls the gateway with `fetch` and an
 * Authorization header, so every call is preflighted. The page must read the JSON answer, a streamed
 * answer chunk by chunk through a ReadableStream reader, and the exposed headers; the same page served
 * from an origin that is not in CORS_ORIGINS must be blocked (fetch rejects with a TypeError).
 *
 * Debian's chromium (/usr/bin/chromium; .ci/run installs it). With CI=true these tests always run and fail
 * when the browser is missing; elsewhere they are skipped only when it is missing.
 */
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type Stack } from '../support/stack.js';

const CHROMIUM = '/usr/bin/chromium';
const CI = process.env.CI === 'true' || process.env.CI === '1';
const skip = !CI && !existsSync(CHROMIUM);

const KEY = 'sk-browser-test';
const MODEL = 'qwen2.5-7b-instruct';
const PROMPT = 'Say something to the browser.';
const MAX_TOKENS = 12;

const PAGE = '<!doctype html><html><head><meta charset="utf-8"><title>cors page</title></head><body><p>gateway client</p></body></html>';

/** Serves the page on 127.0.0.1 at an ephemeral port; its origin is http://127.0.0.1:<port>. */
async function pageServer(): Promise<{ server: Server; origin: string }> {
  const server = createServer((req, res) => {
    if (req.url === '/favicon.ico') {
      res.writeHead(204).end();
      return;
    }
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(PAGE);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

interface JsonResult {
  status?: number;
  text?: string;
  requestId?: string | null;
  serverTiming?: string | null;
  error?: string;
  errorCode?: string | null;
}
interface StreamResult {
  status?: number;
  text?: string;
  reads?: number;
  done?: boolean;
  requestId?: string | null;
  error?: string;
}

/** In the page: a JSON chat completion with a bearer key (preflighted). */
function fetchJson(page: Page, gw: string, key: string): Promise<JsonResult> {
  return page.evaluate(
    async ({ gw, key, model, prompt, maxTokens }) => {
      try {
        const res = await fetch(`${gw}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ model, messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens }),
        });
        const body = (await res.json()) as { choices?: Array<{ message: { content: string } }>; error?: { code: string | null } };
        return {
          status: res.status,
          text: body.choices?.[0]?.message.content,
          errorCode: body.error?.code ?? null,
          requestId: res.headers.get('x-request-id'),
          serverTiming: res.headers.get('server-timing'),
        };
      } catch (err) {
        return { error: (err as Error).name };
      }
    },
    { gw, key, model: MODEL, prompt: PROMPT, maxTokens: MAX_TOKENS },
  );
}

/** In the page: the same completion streamed, read with a ReadableStream reader, counting the reads. */
function fetchStream(page: Page, gw: string, key: string): Promise<StreamResult> {
  return page.evaluate(
    async ({ gw, key, model, prompt, maxTokens }) => {
      try {
        const res = await fetch(`${gw}/v1/chat/completions`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` },
          body: JSON.stringify({ model, messages: [{ role: 'user', content: prompt }], max_tokens: maxTokens, stream: true }),
        });
        const reader = res.body!.getReader();
        const decoder = new TextDecoder();
        let raw = '';
        let reads = 0;
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          reads++;
          raw += decoder.decode(value, { stream: true });
        }
        let text = '';
        let sawDone = false;
        for (const line of raw.split('\n')) {
          if (!line.startsWith('data: ')) continue;
          const data = line.slice(6);
          if (data === '[DONE]') sawDone = true;
          else text += (JSON.parse(data) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '';
        }
        return { status: res.status, text, reads, done: sawDone, requestId: res.headers.get('x-request-id') };
      } catch (err) {
        return { error: (err as Error).name };
      }
    },
    { gw, key, model: MODEL, prompt: PROMPT, maxTokens: MAX_TOKENS },
  );
}

describe.skipIf(skip)('a browser page calling the gateway (CORS_ORIGINS, API_KEYS)', () => {
  let browser: Browser;
  let allowed: { server: Server; origin: string };
  let other: { server: Server; origin: string };
  let stack: Stack;
  let page: Page;
  let otherPage: Page;

  beforeAll(async () => {
    allowed = await pageServer();
    other = await pageServer();
    // Tokens 40 ms apart: the stream reaches the page in several reads.
    stack = await startStack({ sim: { ttftMs: 20, itlMs: 40 }, env: { CORS_ORIGINS: allowed.origin, API_KEYS: `browser:${KEY}`, ALLOW_ANONYMOUS: 'false' } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
    page = await browser.newPage();
    await page.goto(`${allowed.origin}/`);
    otherPage = await browser.newPage();
    await otherPage.goto(`${other.origin}/`);
  });

  afterAll(async () => {
    await browser?.close();
    await stack?.close();
    for (const s of [allowed, other]) if (s) await new Promise((r) => s.server.close(r));
  });

  it('reads a JSON completion and its exposed headers from the allowed origin', async () => {
    const result = await fetchJson(page, stack.url, KEY);
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(200);
    expect(result.text).toBeTruthy();
    // Readable only when listed in Access-Control-Expose-Headers.
    expect(result.requestId).toMatch(/^[0-9a-f]{32}$/);
    expect(result.serverTiming).toMatch(/gw;dur=/);
  });

  it('reads a streamed completion in several reads, the same text as the JSON answer', async () => {
    const json = await fetchJson(page, stack.url, KEY);
    const result = await fetchStream(page, stack.url, KEY);
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(200);
    expect(result.done).toBe(true);
    expect(result.reads).toBeGreaterThan(2);
    expect(result.text).toBe(json.text);
    expect(result.requestId).toMatch(/^[0-9a-f]{32}$/);
  });

  it('reads the 401 envelope of a wrong key from the allowed origin', async () => {
    const result = await fetchJson(page, stack.url, 'sk-wrong');
    expect(result.error).toBeUndefined();
    expect(result.status).toBe(401);
    expect(result.errorCode).toBeTruthy();
  });

  it('blocks the same page served from an origin not in CORS_ORIGINS', async () => {
    const before = stack.sim.requests.length;
    expect(await fetchJson(otherPage, stack.url, KEY)).toEqual({ error: 'TypeError' });
    expect(await fetchStream(otherPage, stack.url, KEY)).toEqual({ error: 'TypeError' });
    // Blocked at the preflight: nothing reached vLLM.
    expect(stack.sim.requests.length).toBe(before);
  });
});
