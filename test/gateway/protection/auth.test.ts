/**
 * Who may call: API keys over real sockets (issue 3).
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatBody, post, startStack, type Stack } from '../../support/stack.js';

let stack: Stack;
const keysFile = join(mkdtempSync(join(tmpdir(), 'gw-keys-')), 'keys.txt');
beforeAll(async () => {
  writeFileSync(keysFile, '# team keys\ncarol:sk-carol-file-key rpm=5\n');
  stack = await startStack({ env: { API_KEYS: 'alice:sk-alice-123456,sk-unnamed-7890', API_KEYS_FILE: keysFile, ALLOW_ANONYMOUS: 'false', METRICS_TOKEN: 'metrics-secret', CORS_ORIGINS: 'https://app.example' } });
});
afterAll(() => stack.close());

describe('API keys', () => {
  it('401 for missing, wrong and malformed keys, with byte-identical answers', async () => {
    const variants: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer sk-alice-123457' },
      { authorization: 'Bearer' },
      { authorization: 'Basic c2stYWxpY2UtMTIzNDU2' },
      { authorization: 'sk-alice-123456' },
      { 'api-key': 'nope' },
    ];
    const bodies = new Set<string>();
    for (const headers of variants) {
      const res = await post(`${stack.url}/v1/chat/completions`, chatBody('hi'), headers);
      expect(res.status).toBe(401);
      bodies.add(await res.text());
    }
    expect(bodies.size).toBe(1);
    expect(JSON.parse([...bodies][0]!)).toMatchObject({ error: { type: 'authentication_error', code: 'invalid_api_key' } });
    expect(stack.sim.requests.length).toBe(0);
  });

  it('accepts Bearer (any case) and api-key, from API_KEYS and API_KEYS_FILE', async () => {
    const accepted: Array<Record<string, string>> = [{ authorization: 'Bearer sk-alice-123456' }, { authorization: 'bearer sk-unnamed-7890' }, { 'api-key': 'sk-carol-file-key' }];
    for (const headers of accepted) {
      expect((await post(`${stack.url}/v1/chat/completions`, chatBody('hi'), headers)).status).toBe(200);
    }
    const ok = await stack.client('sk-alice-123456').models.list();
    expect(ok.data.length).toBeGreaterThan(0);
  });

  it('logs and labels the key name, never the key', async () => {
    await post(`${stack.url}/v1/chat/completions`, chatBody('hi'), { authorization: 'Bearer sk-alice-123456' });
    await new Promise((r) => setTimeout(r, 20));
    const names = new Set(stack.logs.filter((l) => l.msg === 'request').map((l) => l.key));
    expect(names).toContain('alice');
    expect(names).toContain('carol');
    expect([...names].some((n) => typeof n === 'string' && /^key-[0-9a-f]{8}$/.test(n))).toBe(true);
    expect(stack.rawLogs()).not.toMatch(/sk-alice|sk-unnamed|sk-carol/);
    const metrics = await (await fetch(`${stack.url}/metrics`, { headers: { authorization: 'Bearer metrics-secret' } })).text();
    expect(metrics).toContain('key="alice"');
    expect(metrics).not.toMatch(/sk-alice|sk-unnamed|sk-carol/);
  });

  it('leaves health, liveness and lifecycle hooks open; /metrics needs METRICS_TOKEN when set', async () => {
    expect((await fetch(`${stack.url}/health`)).status).toBe(200);
    expect((await fetch(`${stack.url}/livez`)).status).toBe(200);
    expect((await fetch(`${stack.url}/initialize`, { method: 'POST' })).status).toBe(200);
    expect((await fetch(`${stack.url}/metrics`)).status).toBe(401);
    expect((await fetch(`${stack.url}/metrics`, { headers: { authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await fetch(`${stack.url}/metrics`, { headers: { authorization: 'Bearer metrics-secret' } })).status).toBe(200);
  });

  it('guards /system/status and /model/info like the API', async () => {
    expect((await fetch(`${stack.url}/system/status`)).status).toBe(401);
    const status = await fetch(`${stack.url}/system/status`, { headers: { authorization: 'Bearer sk-alice-123456' } });
    expect(status.status).toBe(200);
    expect(await status.json()).toMatchObject({ version: 'test', upstream: { ready: true, model: 'qwen2.5-7b-instruct' }, gateway: { in_flight: 0, queued: 0 }, vllm: { running: 0, waiting: 0, kvCacheUsage: expect.any(Number) } });
    const info = await fetch(`${stack.url}/model/info`, { headers: { 'api-key': 'sk-alice-123456' } });
    expect(await info.json()).toMatchObject({ model: 'qwen2.5-7b-instruct', max_model_len: 16384, limits: { max_concurrent_requests: 32 } });
  });

  it('re-reads API_KEYS_FILE on reload (SIGHUP): new keys work, removed keys stop working', async () => {
    writeFileSync(keysFile, 'dave:sk-dave-new-key\n');
    await stack.gw.reload();
    expect((await post(`${stack.url}/v1/chat/completions`, chatBody('hi'), { authorization: 'Bearer sk-dave-new-key' })).status).toBe(200);
    expect((await post(`${stack.url}/v1/chat/completions`, chatBody('hi'), { authorization: 'Bearer sk-carol-file-key' })).status).toBe(401);
    expect((await post(`${stack.url}/v1/chat/completions`, chatBody('hi'), { authorization: 'Bearer sk-alice-123456' })).status).toBe(200);
  });

  it('answers CORS preflight for allowed origins only', async () => {
    const ok = await fetch(`${stack.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': 'authorization,content-type' } });
    expect(ok.status).toBe(204);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://app.example');
    const other = await fetch(`${stack.url}/v1/chat/completions`, { method: 'OPTIONS', headers: { origin: 'https://evil.example', 'access-control-request-method': 'POST' } });
    expect(other.headers.get('access-control-allow-origin')).toBeNull();
  });
});
