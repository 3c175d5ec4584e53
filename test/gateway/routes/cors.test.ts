/**
 * CORS on every answer, not only on the preflight (issue 9, part 2). With CORS_ORIGINS set, each answer
 * to an allowed origin carries the grant (`access-control-allow-origin: <origin>`, `vary: Origin`) and the
 * exposed headers, whoever wrote it: the JSON and SSE answers proxied from vLLM, errors written after the
 * exchange began (vLLM's 4xx/5xx, errors inside a 200 stream), and the gateway's own refusals (400, 401,
 * 404, 413, 429, 503). No answer to another origin carries a grant. Everything goes over real sockets.
 */
import { request as httpRequest } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, startStack, type Stack } from '../../support/stack.js';

const ALLOWED = 'http://app.example.test';
const OTHER = 'http://evil.example.test';
const KEY = 'sk-cors-main';
const LIMITED_KEY = 'sk-cors-limited';
/** What a browser page must be able to read from any answer (issue 9, part 2). */
const EXPOSED = ['x-request-id', 'server-timing', 'retry-after', 'x-ratelimit-remaining-requests', 'x-ratelimit-remaining-tokens'];
const MODEL = 'qwen2.5-7b-instruct';

const corsEnv = (extra: Record<string, string> = {}) => ({
  CORS_ORIGINS: `${ALLOWED},http://second.example.test`,
  API_KEYS: `main:${KEY},limited:${LIMITED_KEY} rpm=1`,
  ALLOW_ANONYMOUS: 'false',
  ...extra,
});

function expectGrant(headers: Headers, origin = ALLOWED): void {
  expect(headers.get('access-control-allow-origin'), 'access-control-allow-origin').toBe(origin);
  const vary = (headers.get('vary') ?? '').split(',').map((v) => v.trim().toLowerCase());
  expect(vary, 'vary').toContain('origin');
  const exposed = (headers.get('access-control-expose-headers') ?? '').split(',').map((v) => v.trim().toLowerCase());
  for (const name of EXPOSED) expect(exposed, 'access-control-expose-headers').toContain(name);
}

function expectNoGrant(headers: Headers): void {
  expect(headers.get('access-control-allow-origin'), 'access-control-allow-origin').toBeNull();
  expect(headers.get('access-control-allow-credentials')).toBeNull();
}

function call(url: string, body: unknown, origin: string, key: string | null = KEY, extra: Record<string, string> = {}): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/json', origin, ...extra };
  if (key) headers.authorization = `Bearer ${key}`;
  return fetch(url, { method: 'POST', headers, body: typeof body === 'string' ? body : JSON.stringify(body) });
}

interface RawAnswer {
  status: number;
  /** Header name (lower case) → every value it was sent with, in order. */
  headers: Map<string, string[]>;
  body: string;
  /** Body chunks as they came off the socket. */
  chunks: number;
}

/** One request over node:http, keeping the raw header lines (duplicates included) and the body bytes. */
function raw(url: string, body: unknown, headers: Record<string, string>): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const payload = JSON.stringify(body);
    const req = httpRequest(url, { method: 'POST', headers: { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(payload)), ...headers } }, (res) => {
      const map = new Map<string, string[]>();
      for (let i = 0; i < res.rawHeaders.length; i += 2) {
        const name = res.rawHeaders[i]!.toLowerCase();
        map.set(name, [...(map.get(name) ?? []), res.rawHeaders[i + 1]!]);
      }
      let text = '';
      let chunks = 0;
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        text += d;
        chunks++;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: map, body: text, chunks }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}

function rawHeaders(a: RawAnswer): Headers {
  const h = new Headers();
  for (const [name, values] of a.headers) for (const v of values) h.append(name, v);
  return h;
}

/** The four inference paths and a body for each that the simulator answers. */
const PATHS = [
  { path: '/v1/chat/completions', body: (text: string, extra: Record<string, unknown> = {}) => chatBody(text, extra) },
  { path: '/chat', body: (text: string, extra: Record<string, unknown> = {}) => chatBody(text, extra) },
  { path: '/v1/completions', body: (text: string, extra: Record<string, unknown> = {}) => ({ model: MODEL, prompt: text, max_tokens: 8, ...extra }) },
  { path: '/generate', body: (text: string, extra: Record<string, unknown> = {}) => ({ model: MODEL, prompt: text, max_tokens: 8, ...extra }) },
] as const;

let stack: Stack;
/** A gateway that gives up on a silent vLLM stream after 400 ms. */
let quiet: Stack;
beforeAll(async () => {
  quiet = await startStack({ env: corsEnv({ IDLE_TIMEOUT_MS: '400' }) });
  stack = await startStack({ env: corsEnv({ MAX_BODY_BYTES: '4096' }), sim: { maxModelLen: 2048 } });
});
afterAll(async () => {
  await stack.close();
  await quiet.close();
});

describe('the preflight', () => {
  it('grants an allowed origin the Authorization header, and nothing to another origin', async () => {
    const preflight = (origin: string) =>
      fetch(`${stack.url}/v1/chat/completions`, {
        method: 'OPTIONS',
        headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' },
      });
    const ok = await preflight(ALLOWED);
    expect(ok.status).toBeLessThan(300);
    expect(ok.headers.get('access-control-allow-origin')).toBe(ALLOWED);
    expect((ok.headers.get('access-control-allow-headers') ?? '').toLowerCase()).toContain('authorization');
    expect((ok.headers.get('access-control-allow-methods') ?? '').toUpperCase()).toContain('POST');
    expectNoGrant((await preflight(OTHER)).headers);
  });
});

describe.each(PATHS)('$path answers from vLLM', ({ path, body }) => {
  it('200 JSON carries the grant and the exposed headers; another origin gets none', async () => {
    const res = await call(`${stack.url}${path}`, body('cors json'), ALLOWED);
    expect(res.status).toBe(200);
    expectGrant(res.headers);
    expect(res.headers.get('x-request-id')).toBeTruthy();
    expect(((await res.json()) as { choices: unknown[] }).choices.length).toBeGreaterThan(0);
    const other = await call(`${stack.url}${path}`, body('cors json'), OTHER);
    expect(other.status).toBe(200);
    expectNoGrant(other.headers);
    await other.arrayBuffer();
  });

  it('a second allowed origin is granted as itself', async () => {
    const res = await call(`${stack.url}${path}`, body('second origin'), 'http://second.example.test');
    expect(res.status).toBe(200);
    expectGrant(res.headers, 'http://second.example.test');
    await res.arrayBuffer();
  });

  it('a 200 SSE stream carries the grant once, on the raw header lines, and its bytes end with [DONE]', async () => {
    const a = await raw(`${stack.url}${path}`, body('cors stream [[sim:itl=5]]', { stream: true, max_tokens: 12 }), { origin: ALLOWED, authorization: `Bearer ${KEY}` });
    expect(a.status).toBe(200);
    expect(a.headers.get('content-type')?.[0]).toMatch(/text\/event-stream/);
    expect(a.headers.get('access-control-allow-origin')).toEqual([ALLOWED]);
    expectGrant(rawHeaders(a));
    expect(a.body).toMatch(/^data: /);
    expect(a.body.endsWith('data: [DONE]\n\n')).toBe(true);
    const other = await raw(`${stack.url}${path}`, body('cors stream', { stream: true }), { origin: OTHER, authorization: `Bearer ${KEY}` });
    expect(other.status).toBe(200);
    expectNoGrant(rawHeaders(other));
  });

  it('a stream that fails after its 200 (vLLM error event) carries the grant', async () => {
    const a = await raw(`${stack.url}${path}`, body('fails midway [[sim:error-mid-stream]]', { stream: true, max_tokens: 20 }), { origin: ALLOWED, authorization: `Bearer ${KEY}` });
    expect(a.status).toBe(200);
    expectGrant(rawHeaders(a));
    // vLLM writes its error event and then [DONE] (vllm.md 4); the stream stays byte for byte vLLM's.
    expect(a.body).toMatch(/data: \{"error"/);
  });

  it('a stream whose upstream connection resets after its 200 carries the grant', async () => {
    const a = await raw(`${stack.url}${path}`, body('reset midway [[sim:reset-mid-stream]]', { stream: true, max_tokens: 20 }), { origin: ALLOWED, authorization: `Bearer ${KEY}` });
    expect(a.status).toBe(200);
    expectGrant(rawHeaders(a));
    expect(a.body).toMatch(/"error"/);
    expect(a.body).not.toContain('[DONE]');
  });

  it('a stream cut by the idle timeout after its 200 (IDLE_TIMEOUT_MS=400, vLLM silent) carries the grant', async () => {
    const a = await raw(`${quiet.url}${path}`, body('goes quiet [[sim:itl=3000]]', { stream: true, max_tokens: 5 }), { origin: ALLOWED, authorization: `Bearer ${KEY}` });
    expect(a.status).toBe(200);
    expectGrant(rawHeaders(a));
    expect(a.body).toMatch(/"error"/);
    expect(a.body).not.toContain('[DONE]');
  });

  it("vLLM's 400 (context length) passed through by the exchange carries the grant", async () => {
    const res = await call(`${stack.url}${path}`, body('too long', { max_tokens: 5_000 }), ALLOWED);
    expect(res.status).toBe(400);
    expectGrant(res.headers);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/context length/i);
    const other = await call(`${stack.url}${path}`, body('too long', { max_tokens: 5_000 }), OTHER);
    expect(other.status).toBe(400);
    expectNoGrant(other.headers);
  });

  it("vLLM's 500 and a reset before headers (502) carry the grant", async () => {
    const five = await call(`${stack.url}${path}`, body('boom [[sim:http=500]]'), ALLOWED);
    expect(five.status).toBe(500);
    expectGrant(five.headers);
    await five.arrayBuffer();
    const reset = await call(`${stack.url}${path}`, body('reset [[sim:reset-before-headers]]'), ALLOWED);
    expect(reset.status).toBeGreaterThanOrEqual(500);
    expectGrant(reset.headers);
    await reset.arrayBuffer();
  });
});

describe.each(PATHS)('$path refusals by the gateway', ({ path, body }) => {
  it('400 schema error', async () => {
    const res = await call(`${stack.url}${path}`, body('bad', { temperature: 'hot' }), ALLOWED);
    expect(res.status).toBe(400);
    expectGrant(res.headers);
    expectNoGrant((await call(`${stack.url}${path}`, body('bad', { temperature: 'hot' }), OTHER)).headers);
  });

  it('400 invalid JSON', async () => {
    const res = await call(`${stack.url}${path}`, '{"model": ', ALLOWED);
    expect(res.status).toBe(400);
    expectGrant(res.headers);
  });

  it('404 unknown model', async () => {
    const res = await call(`${stack.url}${path}`, body('who', { model: 'gpt-unknown' }), ALLOWED);
    expect(res.status).toBe(404);
    expectGrant(res.headers);
    expectNoGrant((await call(`${stack.url}${path}`, body('who', { model: 'gpt-unknown' }), OTHER)).headers);
  });

  it('413 body too large', async () => {
    const res = await call(`${stack.url}${path}`, body('x'.repeat(8_192)), ALLOWED);
    expect(res.status).toBe(413);
    expectGrant(res.headers);
  });

  it('401 wrong key, and no key', async () => {
    const wrong = await call(`${stack.url}${path}`, body('who am i'), ALLOWED, 'sk-wrong');
    expect(wrong.status).toBe(401);
    expectGrant(wrong.headers);
    const none = await call(`${stack.url}${path}`, body('who am i'), ALLOWED, null);
    expect(none.status).toBe(401);
    expectGrant(none.headers);
    expectNoGrant((await call(`${stack.url}${path}`, body('who am i'), OTHER, 'sk-wrong')).headers);
  });
});

describe('429 rate limited', () => {
  it('the refusal carries the grant and Retry-After is exposed', async () => {
    // The `limited` key has rpm=1: its first request passes, the second is refused.
    const first = await call(`${stack.url}/v1/chat/completions`, chatBody('one'), ALLOWED, LIMITED_KEY);
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    await first.arrayBuffer();
    const second = await call(`${stack.url}/v1/chat/completions`, chatBody('two'), ALLOWED, LIMITED_KEY);
    expect(second.status).toBe(429);
    expect(second.headers.get('retry-after')).toBeTruthy();
    expectGrant(second.headers);
    const other = await call(`${stack.url}/v1/completions`, { model: MODEL, prompt: 'three' }, OTHER, LIMITED_KEY);
    expect(other.status).toBe(429);
    expectNoGrant(other.headers);
  });
});

describe('503 answers', () => {
  it('queue full (MAX_CONCURRENT_REQUESTS=1, MAX_QUEUE=0) while one request holds the slot', async () => {
    const busy = await startStack({ env: corsEnv({ MAX_CONCURRENT_REQUESTS: '1', MAX_QUEUE: '0' }) });
    try {
      const holder = await call(`${busy.url}/v1/chat/completions`, chatBody('holding [[sim:itl=30]]', { stream: true, max_tokens: 40 }), ALLOWED);
      expect(holder.status).toBe(200);
      const refused = await call(`${busy.url}/v1/chat/completions`, chatBody('no room'), ALLOWED);
      expect(refused.status).toBe(503);
      expectGrant(refused.headers);
      const refusedOther = await call(`${busy.url}/generate`, { model: MODEL, prompt: 'no room' }, OTHER);
      expect(refusedOther.status).toBe(503);
      expectNoGrant(refusedOther.headers);
      // The holder's own grant is the stream tests' business; here it only has to finish.
      expect(await holder.text()).toContain('[DONE]');
    } finally {
      await busy.close();
    }
  });

  // Needs the listener to stay open after /pre-stop (issue 9, part 4): today it is closed and this is ECONNREFUSED.
  it('shutting down (after /pre-stop): the 503 shutting_down carries the grant', async () => {
    const leaving = await startStack({ env: corsEnv() });
    try {
      expect((await fetch(`${leaving.url}/pre-stop`)).status).toBe(200);
      const res = await call(`${leaving.url}/v1/chat/completions`, chatBody('late'), ALLOWED);
      expect(res.status).toBe(503);
      expect(((await res.json()) as { error: { code: string } }).error.code).toBe('shutting_down');
      expectGrant(res.headers);
      expectNoGrant((await call(`${leaving.url}/v1/completions`, { model: MODEL, prompt: 'late' }, OTHER)).headers);
    } finally {
      await leaving.close();
    }
  });
});
