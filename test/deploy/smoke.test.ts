/**
 * scripts/smoke.ts: the degenerate-output rules, and whole runs against a gateway + simulator over real
 * sockets (the simulator's `[[sim:degenerate]]` marker answers all "!", the T4 failure of vllm.md 8).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { degenerateReason, parseSmokeArgs, runSmoke, type SmokeOptions } from '../../scripts/smoke.js';
import { startStack, type Stack } from '../support/stack.js';

describe('degenerateReason', () => {
  it.each([
    ['', /empty/],
    ['   \n ', /empty/],
    ['!!!!!!!!!!!!', /all "!"/],
    ['! ! ! !', /all "!"/],
    ['????????', /one character repeated/],
    ['.,;:-- ?! ...', /mostly punctuation/],
  ])('rejects %j', (text, reason) => {
    expect(degenerateReason(text)).toMatch(reason);
  });

  it.each(['Paris.', 'The capital of France is Paris.', '巴黎是法国的首都。', '42'])('accepts %j', (text) => {
    expect(degenerateReason(text)).toBeUndefined();
  });
});

describe('parseSmokeArgs', () => {
  it('reads flags, then the environment, then defaults', () => {
    const o = parseSmokeArgs(['--url', 'http://h:1/', '--expect', 'Paris'], { SMOKE_API_KEY: 'k', SMOKE_MODEL: 'm' });
    expect(o).toMatchObject({ url: 'http://h:1', apiKey: 'k', model: 'm', expect: 'Paris', timeoutMs: 300_000 });
  });

  it('refuses unknown flags and bad values', () => {
    expect(() => parseSmokeArgs(['--nope'], {})).toThrow();
    expect(() => parseSmokeArgs(['--timeout-ms', 'soon'], {})).toThrow(/timeout-ms/);
    expect(() => parseSmokeArgs(['--url', 'ftp://x'], {})).toThrow(/url/);
  });
});

describe('runSmoke against a gateway and the simulator', () => {
  let stack: Stack;
  let base: SmokeOptions;
  beforeAll(async () => {
    stack = await startStack({ env: { ALLOW_ANONYMOUS: 'false', API_KEYS: 'smoke:sk-smoke-test' } });
    base = parseSmokeArgs(['--url', stack.url, '--key', 'sk-smoke-test', '--timeout-ms', '10000'], {});
  });
  afterAll(async () => {
    await stack.close();
  });

  it('passes on a healthy stack, streaming and not', async () => {
    const result = await runSmoke(base);
    expect(result.lines.join('\n')).toMatch(/ok {3}chat[\s\S]*ok {3}stream/);
    expect(result.ok).toBe(true);
  });

  it('fails on all-"!" answers', async () => {
    const result = await runSmoke({ ...base, prompt: 'What is the capital of France? [[sim:degenerate]]' });
    expect(result.ok).toBe(false);
    expect(result.lines.filter((l) => l.startsWith('FAIL'))).toHaveLength(2);
    expect(result.lines.join('\n')).toMatch(/all "!"/);
  });

  it('fails when the answer lacks the expected text', async () => {
    const result = await runSmoke({ ...base, expect: 'Paris' });
    expect(result.ok).toBe(false);
    expect(result.lines.join('\n')).toMatch(/does not contain "Paris"/);
  });

  it('fails on a wrong API key with the HTTP status', async () => {
    const result = await runSmoke({ ...base, apiKey: 'wrong' });
    expect(result.ok).toBe(false);
    expect(result.lines.join('\n')).toMatch(/FAIL chat: HTTP 401/);
  });

  it('fails when the gateway cannot be reached', async () => {
    const result = await runSmoke({ ...base, url: 'http://127.0.0.1:1', timeoutMs: 2_000 });
    expect(result.ok).toBe(false);
    expect(result.lines.filter((l) => l.startsWith('FAIL'))).toHaveLength(2);
  });
});
