import { Hono } from 'hono';
import { describe, expect, it } from 'vitest';
import { KeyRegistry, parseKeyEntries } from '../../../gateway/auth/keys.js';
import { apiKeyAuth, type AuthVariables } from '../../../gateway/auth/middleware.js';

const EXPECTED_401 =
  '{"error":{"message":"Invalid API key. Provide it as \'Authorization: Bearer <key>\'.","type":"authentication_error","param":null,"code":"invalid_api_key"}}';

function appWith(registry: () => KeyRegistry | undefined) {
  const rejections: string[] = [];
  const app = new Hono<{ Variables: AuthVariables }>();
  app.use('/v1/*', apiKeyAuth({ registry, onReject: (reason) => rejections.push(reason) }));
  app.post('/v1/echo', (c) => c.json(c.get('principal')));
  app.on('OPTIONS', '/v1/echo', (c) => c.body(null, 204));
  return { app, rejections };
}

const keys = new KeyRegistry(parseKeyEntries('alice:sk-alice-123456 rpm=9,sk-unnamed-7890', 'API_KEYS'));

describe('apiKeyAuth', () => {
  it('gives missing, wrong and malformed keys the same 401, byte for byte', async () => {
    const { app, rejections } = appWith(() => keys);
    const variants: Array<Record<string, string>> = [
      {},
      { authorization: 'Bearer sk-alice-123457' },
      { authorization: 'Bearer' },
      { authorization: 'Basic c2stYWxpY2UtMTIzNDU2' },
      { authorization: 'sk-alice-123456' },
      { 'api-key': 'nope' },
      { 'api-key': 'two words' },
    ];
    const answers = new Set<string>();
    for (const headers of variants) {
      const res = await app.request('/v1/echo', { method: 'POST', headers });
      expect(res.status).toBe(401);
      expect(res.headers.get('content-type')).toBe('application/json');
      const body = await res.text();
      expect(body).toBe(EXPECTED_401);
      answers.add(JSON.stringify([...res.headers.entries()]) + body);
    }
    expect(answers.size).toBe(1);
    expect(rejections).toEqual(['missing', 'invalid', 'invalid', 'invalid', 'invalid', 'invalid', 'invalid']);
  });

  it('sets the principal for a valid key, from Bearer (any case) or api-key', async () => {
    const { app, rejections } = appWith(() => keys);
    const cases: Array<[Record<string, string>, unknown]> = [
      [{ authorization: 'Bearer sk-alice-123456' }, { name: 'alice', rpm: 9 }],
      [{ authorization: 'bEaReR sk-alice-123456' }, { name: 'alice', rpm: 9 }],
      [{ 'api-key': 'sk-unnamed-7890' }, { name: expect.stringMatching(/^key-[0-9a-f]{8}$/) }],
    ];
    for (const [headers, principal] of cases) {
      const res = await app.request('/v1/echo', { method: 'POST', headers });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual(principal);
    }
    expect(rejections).toEqual([]);
  });

  it('anonymous mode lets everyone in as "anonymous"', async () => {
    const { app } = appWith(() => undefined);
    const res = await app.request('/v1/echo', { method: 'POST', headers: { authorization: 'Bearer whatever' } });
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ name: 'anonymous' });
  });

  it('reads the registry per request, so a reload takes effect at once', async () => {
    let current: KeyRegistry | undefined = keys;
    const { app } = appWith(() => current);
    const call = () => app.request('/v1/echo', { method: 'POST', headers: { authorization: 'Bearer sk-new-key' } });
    expect((await call()).status).toBe(401);
    current = new KeyRegistry(parseKeyEntries('new:sk-new-key', 'API_KEYS'));
    expect(await (await call()).json()).toEqual({ name: 'new' });
    current = keys;
    expect((await call()).status).toBe(401);
  });

  it('lets OPTIONS preflights through without a key', async () => {
    const { app, rejections } = appWith(() => keys);
    const res = await app.request('/v1/echo', { method: 'OPTIONS' });
    expect(res.status).toBe(204);
    expect(rejections).toEqual([]);
  });
});
