/**
 * Per-key rate limits over real sockets: a 429 with OpenAI's headers exactly when a key passes its RPM
 * or TPM, and not before.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, post, startStack, type Stack } from '../../support/stack.js';

let stack: Stack | undefined;
afterEach(async () => {
  await stack?.close();
  stack = undefined;
});

const auth = (key: string) => ({ authorization: `Bearer ${key}` });

describe('requests per minute', () => {
  it('admits exactly RATE_LIMIT_RPM requests per key, then 429 with Retry-After and x-ratelimit headers', async () => {
    stack = await startStack({ env: { API_KEYS: 'a:key-a,b:key-b', ALLOW_ANONYMOUS: 'false', RATE_LIMIT_RPM: '3' } });
    const remaining: Array<string | null> = [];
    for (let i = 0; i < 3; i++) {
      const res = await post(`${stack.url}/v1/chat/completions`, chatBody('hi'), auth('key-a'));
      expect(res.status).toBe(200);
      expect(res.headers.get('x-ratelimit-limit-requests')).toBe('3');
      remaining.push(res.headers.get('x-ratelimit-remaining-requests'));
      await res.text();
    }
    expect(remaining).toEqual(['2', '1', '0']);
    const before = stack.sim.requests.length;
    const limited = await post(`${stack.url}/v1/chat/completions`, chatBody('hi'), auth('key-a'));
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(limited.headers.get('x-ratelimit-remaining-requests')).toBe('0');
    expect(limited.headers.get('x-ratelimit-reset-requests')).toMatch(/^\d+(\.\d+)?(ms|s)$|^\d+m\d+s$/);
    expect(await limited.json()).toMatchObject({ error: { type: 'requests', code: 'rate_limit_exceeded' } });
    expect(stack.sim.requests.length).toBe(before);
    // Another key has its own budget.
    expect((await post(`${stack.url}/v1/chat/completions`, chatBody('hi'), auth('key-b'))).status).toBe(200);
  });

  it('per-key overrides from API_KEYS_FILE win over the global limit', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'gw-rl-')), 'keys');
    writeFileSync(file, 'slow:key-slow rpm=1\nfast:key-fast\n');
    stack = await startStack({ env: { API_KEYS_FILE: file, ALLOW_ANONYMOUS: 'false', RATE_LIMIT_RPM: '100' } });
    expect((await post(`${stack.url}/v1/chat/completions`, chatBody('hi'), auth('key-slow'))).status).toBe(200);
    expect((await post(`${stack.url}/v1/chat/completions`, chatBody('hi'), auth('key-slow'))).status).toBe(429);
    expect((await post(`${stack.url}/v1/chat/completions`, chatBody('hi'), auth('key-fast'))).status).toBe(200);
    expect((await post(`${stack.url}/v1/chat/completions`, chatBody('hi'), auth('key-fast'))).status).toBe(200);
  });
});

describe('tokens per minute', () => {
  it('reserves prompt estimate + max_tokens up front, settles with real usage, and refuses past the budget', async () => {
    stack = await startStack({ env: { API_KEYS: 't:key-t', ALLOW_ANONYMOUS: 'false', RATE_LIMIT_TPM: '100' } });
    const first = await post(`${stack.url}/v1/chat/completions`, chatBody('hi', { max_tokens: 40 }), auth('key-t'));
    expect(first.status).toBe(200);
    expect(first.headers.get('x-ratelimit-limit-tokens')).toBe('100');
    const usage = ((await first.json()) as { usage: { total_tokens: number } }).usage.total_tokens;
    // After settling, the next reservation sees 100 minus what was really used (refill is slow: 100/min).
    const second = await post(`${stack.url}/v1/chat/completions`, chatBody('hi', { max_tokens: 30 }), auth('key-t'));
    expect(second.status).toBe(200);
    const left = Number(second.headers.get('x-ratelimit-remaining-tokens'));
    expect(left).toBeLessThanOrEqual(100 - usage);
    await second.text();
    const refused = await post(`${stack.url}/v1/chat/completions`, chatBody('hi', { max_tokens: 60 }), auth('key-t'));
    expect(refused.status).toBe(429);
    expect(await refused.json()).toMatchObject({ error: { type: 'tokens', code: 'rate_limit_exceeded' } });
    expect(refused.headers.get('x-ratelimit-reset-tokens')).toBeTruthy();
  });

  it('a request that alone exceeds the TPM budget says so', async () => {
    stack = await startStack({ env: { API_KEYS: 't:key-t', ALLOW_ANONYMOUS: 'false', RATE_LIMIT_TPM: '50' } });
    const res = await post(`${stack.url}/v1/chat/completions`, chatBody('hi', { max_tokens: 500 }), auth('key-t'));
    expect(res.status).toBe(429);
    expect(((await res.json()) as { error: { message: string } }).error.message).toMatch(/alone needs more tokens/);
  });
});

describe('MAX_TOKENS_LIMIT', () => {
  it('rejects a larger max_tokens and fills it in when absent', async () => {
    stack = await startStack({ env: { MAX_TOKENS_LIMIT: '64' } });
    const res = await post(`${stack.url}/v1/chat/completions`, chatBody('hi', { max_tokens: 65 }));
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe('max_tokens');
    const body = chatBody('hi');
    delete body.max_tokens;
    expect((await post(`${stack.url}/v1/chat/completions`, body)).status).toBe(200);
    expect((stack.sim.requests.at(-1)!.body as { max_tokens: number }).max_tokens).toBe(64);
  });
});
